"""Who is calling: a bearer JWT in the ``authorization`` metadata, verified with PyJWT.

Two modes, chosen by configuration (``AuthSettings``), never by the token:

- **production**: RS256 / ES256 tokens of the identity provider, whose public keys come from
  its JWKS URL (``JWT_JWKS_URL``; fetched with PyJWT's ``PyJWKClient``, the key set cached
  for ``JWT_JWKS_CACHE_SECONDS``);
- **shared secret**: HS256 with ``JWT_SECRET`` (at least 32 bytes), only when it is set
  explicitly and no JWKS URL is: `make run` makes one per stack, compose requires one (with a
  JWKS URL it only derives the key of page and resume tokens).

Either way a token must carry ``sub``, ``iss`` (= ``JWT_ISSUER``), ``aud`` (= or containing
``JWT_AUDIENCE``), and numeric ``exp`` and ``iat``; ``nbf`` is optional but numeric; a token
living longer than ``JWT_MAX_LIFETIME`` seconds, or issued in the future, is refused;
``JWT_LEEWAY`` seconds of clock skew are allowed. With neither a secret nor a JWKS URL a
service refuses to start (``AuthConfigError``) instead of falling back on a public default.

``python -m mesh.auth --user alice`` prints an HS256 token signed with ``JWT_SECRET`` (for
operators of a deployment in shared-secret mode, where the command-line client is not
installed).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt

from mesh.errors import StartupError, Unauthenticated, Unavailable
from mesh.logs import get_logger
from mesh.settings import AUDIENCE, ISSUER, SECRET_MIN_BYTES, AuthSettings

__all__ = ["AUDIENCE", "ISSUER", "AuthConfigError", "AuthSettings", "Authenticator", "mint_token"]

log = get_logger(__name__)

MAX_TOKEN_CHARS = 8192
# Tokens verified lately, remembered until they expire: a client sends the same token with
# every call, and checking it again cost conversation_svc ~3 % of its CPU under load.
RECENT_TOKENS = 4096
JWKS_ALGORITHMS = ("RS256", "ES256")
# Where `make run` keeps the secret it made for its stack (under its data folder), so that
# `photofun token` and `photofun chat` can sign dev tokens for it without JWT_SECRET.
DEV_SECRET_FILE = Path("var") / "jwt-secret"


class AuthConfigError(StartupError):
    """The service's token configuration is missing or inconsistent: it must not start."""


class Authenticator:
    """Verifies bearer tokens and returns the user id (the ``sub`` claim)."""

    def __init__(
        self,
        secret: str | None = None,
        *,
        jwks_url: str | None = None,
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        max_lifetime: float = 86_400.0,
        leeway: float = 30.0,
        jwks_cache_seconds: float = 300.0,
        jwks_timeout: float = 5.0,
    ) -> None:
        if bool(secret) == bool(jwks_url):
            raise AuthConfigError(
                "set exactly one of JWT_JWKS_URL (production: the identity provider's keys) "
                "or JWT_SECRET (shared secret, at least 32 bytes)"
            )
        if not issuer or not audience:
            raise AuthConfigError("JWT_ISSUER and JWT_AUDIENCE must not be empty")
        self._secret = secret
        self._jwks = (
            jwt.PyJWKClient(
                jwks_url, cache_keys=False, lifespan=jwks_cache_seconds, timeout=jwks_timeout
            )
            if jwks_url
            else None
        )
        self._algorithms = list(JWKS_ALGORITHMS) if jwks_url else ["HS256"]
        self._issuer, self._audience = issuer, audience
        self._max_lifetime, self._leeway = max_lifetime, leeway
        # token -> (exp, claims); insertion order, so the oldest is dropped when it is full.
        self._recent: dict[str, tuple[float, dict[str, Any]]] = {}
        self._recent_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authenticator:
        """The authenticator the settings configure; ``AuthConfigError`` when they do not."""
        if settings.jwt_jwks_url and "jwt_issuer" not in settings.model_fields_set:
            raise AuthConfigError("JWT_JWKS_URL needs JWT_ISSUER: the identity provider's issuer")
        secret = settings.jwt_secret.get_secret_value()
        if not settings.jwt_jwks_url and not secret:
            raise AuthConfigError(
                "no token verification configured: set JWT_JWKS_URL (with JWT_ISSUER and "
                "JWT_AUDIENCE) or JWT_SECRET (at least 32 bytes; `openssl rand -hex 32`)"
            )
        return cls(
            None if settings.jwt_jwks_url else secret,  # with a JWKS URL, HS256 is never taken
            jwks_url=settings.jwt_jwks_url,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            max_lifetime=settings.jwt_max_lifetime,
            leeway=settings.jwt_leeway,
            jwks_cache_seconds=settings.jwt_jwks_cache_seconds,
        )

    @property
    def mode(self) -> str:
        """``jwks`` or ``shared-secret`` (for the start-up log line)."""
        return "jwks" if self._jwks is not None else "shared-secret"

    async def authenticate(self, metadata: Any) -> str:
        """``user_of`` without blocking the event loop when keys must be fetched."""
        if self._jwks is None or self._recalled(_bearer(metadata)) is not None:
            return self.user_of(metadata)
        return await asyncio.to_thread(self.user_of, metadata)

    def user_of(self, metadata: Any) -> str:
        """The ``sub`` of a valid token in the call's metadata; UNAUTHENTICATED otherwise
        (UNAVAILABLE when the identity provider's keys cannot be fetched)."""
        token = _bearer(metadata)
        if token is None:
            raise Unauthenticated(
                "send 'authorization: Bearer <token>' metadata", reason="MISSING_CREDENTIALS"
            )
        try:
            claims = self._recalled(token) or self._remember(token, self._verified(token))
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired", reason="TOKEN_EXPIRED") from exc
        except jwt.PyJWKClientConnectionError as exc:
            log.warning("the identity provider's keys could not be fetched", error=str(exc))
            raise Unavailable(
                "the identity provider's keys could not be fetched; retry later",
                reason="JWKS_UNAVAILABLE",
            ) from exc
        except jwt.PyJWTError as exc:  # InvalidTokenError, no key of that kid, a bad key
            # DEBUG: the gate's RefusalLog reports it (with this cause) once per peer a minute.
            log.debug("token refused", why=str(exc)[:200])
            raise Unauthenticated("the token is not valid", reason="INVALID_TOKEN") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
            raise Unauthenticated("the token has no usable subject", reason="INVALID_TOKEN")
        return subject

    def _recalled(self, token: str | None) -> dict[str, Any] | None:
        """The claims of a token verified lately that has not expired since (the other checks
        only get easier with time: issued in the past, lifetime left)."""
        hit = self._recent.get(token) if token is not None else None
        if hit is None or time.time() > hit[0] + self._leeway:
            return None
        return hit[1]

    def _remember(self, token: str, claims: dict[str, Any]) -> dict[str, Any]:
        with self._recent_lock:  # JWKS checks run in threads
            if len(self._recent) >= RECENT_TOKENS:
                self._recent.pop(next(iter(self._recent)))
            self._recent[token] = (float(claims["exp"]), claims)
        return claims

    def _verified(self, token: str) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_CHARS:
            raise jwt.InvalidTokenError("token too long")
        # Claim types first: PyJWT would read a numeric string ("exp": "99999999999") as a
        # number. The signature is checked next, before anything is trusted.
        unverified = jwt.decode(token, options={"verify_signature": False})
        for name in ("exp", "iat", "nbf"):
            if name in unverified and not _numeric(unverified[name]):
                raise jwt.InvalidTokenError(f"{name} must be a number")
        if self._jwks is not None:
            key: Any = self._jwks.get_signing_key_from_jwt(token).key
        else:
            key = self._secret
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=self._algorithms,
            audience=self._audience,
            issuer=self._issuer,
            leeway=self._leeway,
            options={"require": ["sub", "exp", "iat", "iss", "aud"]},
        )
        now = time.time()
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if iat > now + self._leeway:
            raise jwt.ImmatureSignatureError("issued in the future")
        if exp - iat > self._max_lifetime or exp - now > self._max_lifetime + self._leeway:
            raise jwt.InvalidTokenError("lives longer than JWT_MAX_LIFETIME")
        return claims


def _bearer(metadata: Any) -> str | None:
    """The token of the call's ``authorization: Bearer ...`` metadata, if it has one."""
    header = next((v for k, v in metadata or () if k == "authorization"), None)
    if not isinstance(header, str) or not header.lower().startswith("bearer "):
        return None
    return header[7:].strip()


def _numeric(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def mint_token(
    secret: str,
    user: str,
    ttl: dt.timedelta = dt.timedelta(days=1),
    *,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
) -> str:
    """An HS256 token for ``user`` (what `make run` prints for local use)."""
    issued = dt.datetime.now(dt.UTC).replace(microsecond=0)
    claims = {"sub": user, "iss": issuer, "aud": audience, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def dev_secret(path: Path = DEV_SECRET_FILE) -> str | None:
    """The secret `make run` made for its stack (``var/jwt-secret``), if there is one."""
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return text if len(text.encode()) >= SECRET_MIN_BYTES else None


def main(argv: Sequence[str] | None = None) -> int:
    """Print a token for ``--user`` signed with ``JWT_SECRET`` from the environment."""
    parser = argparse.ArgumentParser(prog="python -m mesh.auth", description=main.__doc__)
    parser.add_argument("--user", required=True, help="the token's subject (user id)")
    parser.add_argument(
        "--days", type=float, default=1.0, help="lifetime in days (1; at most JWT_MAX_LIFETIME)"
    )
    args = parser.parse_args(argv)
    secret = os.environ.get("JWT_SECRET", "") or dev_secret() or ""
    if not secret:
        parser.error("JWT_SECRET is not set")
    issuer = os.environ.get("JWT_ISSUER") or ISSUER
    audience = os.environ.get("JWT_AUDIENCE") or AUDIENCE
    ttl = dt.timedelta(days=args.days)
    print(mint_token(secret, args.user, ttl, issuer=issuer, audience=audience))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
