"""Who is calling: a bearer JWT in the ``authorization`` metadata, verified with PyJWT.

Local runs use HS256 with ``JWT_SECRET``; production may switch to RS256 with the identity
provider's keys (docs/conversation-api.md). The user id is the token's ``sub`` claim.

``python -m mesh.auth --user alice`` prints a token signed with ``JWT_SECRET`` (for operators of
a deployment, where the command-line client is not installed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Iterable, Sequence
from typing import Any

import jwt

from mesh.errors import Unauthenticated

ISSUER = "photofun-dev"
# The development default of JWT_SECRET: public, so only for a stack on loopback.
DEV_SECRET = "dev-only-secret-change-me-in-production"  # noqa: S105 (public on purpose)


class Authenticator:
    """Verifies bearer tokens and returns the user id."""

    def __init__(self, secret: str, *, algorithms: Iterable[str] = ("HS256",)) -> None:
        self._secret = secret
        self._algorithms = list(algorithms)

    def user_of(self, metadata: Any) -> str:
        """The ``sub`` of a valid token in the call's metadata; UNAUTHENTICATED otherwise."""
        header = next((v for k, v in metadata or () if k == "authorization"), None)
        if not isinstance(header, str) or not header.lower().startswith("bearer "):
            raise Unauthenticated(
                "send 'authorization: Bearer <token>' metadata", reason="MISSING_CREDENTIALS"
            )
        token = header[7:].strip()
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=self._algorithms,
                options={"require": ["sub", "exp"]},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired", reason="TOKEN_EXPIRED") from exc
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated("the token is not valid", reason="INVALID_TOKEN") from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 200:
            raise Unauthenticated("the token has no usable subject", reason="INVALID_TOKEN")
        return subject


def mint_token(secret: str, user: str, ttl: dt.timedelta = dt.timedelta(days=30)) -> str:
    """An HS256 token for ``user`` (what `make run` prints for local use)."""
    issued = dt.datetime.now(dt.UTC)
    claims = {"sub": user, "iss": ISSUER, "iat": issued, "exp": issued + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def main(argv: Sequence[str] | None = None) -> int:
    """Print a token for ``--user`` signed with ``JWT_SECRET`` from the environment."""
    parser = argparse.ArgumentParser(prog="python -m mesh.auth", description=main.__doc__)
    parser.add_argument("--user", required=True, help="the token's subject (user id)")
    parser.add_argument("--days", type=float, default=30.0, help="lifetime in days (30)")
    args = parser.parse_args(argv)
    secret = os.environ.get("JWT_SECRET", "")
    if not secret:
        parser.error("JWT_SECRET is not set")
    print(mint_token(secret, args.user, dt.timedelta(days=args.days)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
