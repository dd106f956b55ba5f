"""Who is calling: one gate in front of every RPC of every server (no trusted network).

- ``grpc.health.v1.Health`` is open: probes and balancers carry no credentials. Reflection
  (a streaming service outside this gate) is served only while ``GRPC_REFLECTION`` is on.
- Every other RPC needs an end user: a bearer token in ``authorization`` (verified by
  ``mesh.auth.Authenticator``), or a mesh service calling for a user. The pipeline's worker
  calls prompt_svc and image_svc for a message's owner and names them in ``x-photofun-user``;
  that name is believed only from a peer whose service identity is in MESH_TRUSTED_CALLERS:
  - in TLS mode (``MESH_TLS_DIR``, see ``mesh.pki``) the identity is the common name of the
    peer's client certificate, which the handshake checked against the mesh's CA;
  - in plaintext mode (``make run``, loopback only) it is a short-lived service token in
    ``x-photofun-service``: HS256 under MESH_TOKEN_KEY (derived from JWT_SECRET), a key only
    the stack's own processes hold. It has its own issuer and audience, so it never passes
    as a user token, nor a user token as a service token.
- A user token whose subject is not the ``x-photofun-user`` it carries is PERMISSION_DENIED.

The verdict is kept for the handler (``current_caller``) and the user bound to the call's log
lines. Refusals are logged as one warning per peer and reason per minute, however many
arrive (``RefusalLog``).
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import jwt

from mesh.auth import AuthConfigError, Authenticator
from mesh.errors import PermissionDenied, ServiceError, Unauthenticated
from mesh.logs import bind_context, get_logger
from mesh.settings import ServerSettings

log = get_logger(__name__)

USER_KEY = "x-photofun-user"  # the end user a trusted mesh service calls for
# Plaintext mode: the calling service's token.
SERVICE_TOKEN_KEY = "x-photofun-service"  # noqa: S105 (a metadata key, not a secret)
OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
MESH_ISSUER = "photofun-mesh"
MESH_AUDIENCE = "photofun-mesh"
_KDF_LABEL = b"photofun mesh service tokens v1"
_MAX_USER_CHARS = 200

_CALLER: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("caller", default=None)


@dataclass(frozen=True)
class Caller:
    """The end user a call is for, and the mesh service that made it for them (if any)."""

    user: str
    service: str | None = None


def current_caller() -> Caller:
    """The caller the gate admitted for the running RPC; UNAUTHENTICATED outside one."""
    caller = _CALLER.get()
    if caller is None:
        raise Unauthenticated(
            "send 'authorization: Bearer <token>' metadata", reason="MISSING_CREDENTIALS"
        )
    return caller


def admitted(caller: Caller | None) -> None:
    """Record the gate's verdict for the running call (the interceptor calls this)."""
    _CALLER.set(caller)
    if caller is not None:
        bind_context(user=caller.user, **({"via": caller.service} if caller.service else {}))


def derive_mesh_key(secret: bytes) -> bytes:
    """The service-token key derived from another secret (JWT_SECRET), distinct from it."""
    return hmac.new(secret, _KDF_LABEL, hashlib.sha256).digest()


class ServiceTokens:
    """Mints and checks the tokens mesh services show each other in plaintext mode."""

    def __init__(self, key: bytes, *, lifetime: float = 300.0, leeway: float = 30.0) -> None:
        if len(key) < 32:
            raise AuthConfigError("MESH_TOKEN_KEY must be at least 32 bytes long")
        self._key, self._lifetime, self._leeway = key, lifetime, leeway
        self._minted: dict[str, tuple[float, str]] = {}

    @classmethod
    def from_settings(cls, settings: ServerSettings) -> ServiceTokens | None:
        """From MESH_TOKEN_KEY, else derived from JWT_SECRET; None when there is neither."""
        own = settings.mesh_token_key.get_secret_value() if settings.mesh_token_key else ""
        if own:
            return cls(own.encode())
        secret = settings.jwt_secret.get_secret_value()
        return cls(derive_mesh_key(secret.encode())) if secret else None

    def mint(self, service: str) -> str:
        """A token naming ``service``, reused until half its life has passed."""
        now = time.time()
        cached = self._minted.get(service)
        if cached is not None and cached[0] > now + self._lifetime / 2:
            return cached[1]
        claims = {
            "sub": service,
            "iss": MESH_ISSUER,
            "aud": MESH_AUDIENCE,
            "iat": int(now),
            "exp": int(now + self._lifetime),
        }
        token = jwt.encode(claims, self._key, algorithm="HS256")
        self._minted[service] = (now + self._lifetime, token)
        return token

    def identity(self, token: str) -> str:
        """The service a valid token names; UNAUTHENTICATED otherwise."""
        try:
            claims = jwt.decode(
                token[:4096],
                self._key,
                algorithms=["HS256"],
                audience=MESH_AUDIENCE,
                issuer=MESH_ISSUER,
                leeway=self._leeway,
                options={"require": ["sub", "exp", "iat", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(
                "the service token is not valid", reason="INVALID_SERVICE_TOKEN"
            ) from exc
        if float(claims["exp"]) - float(claims["iat"]) > self._lifetime + self._leeway:
            raise Unauthenticated(
                "the service token lives too long", reason="INVALID_SERVICE_TOKEN"
            )
        return str(claims["sub"])


class RefusalLog:
    """One warning per (peer, reason) per ``window`` seconds, with how many were held back."""

    def __init__(self, window: float = 60.0, max_keys: int = 10_000) -> None:
        self._window, self._max_keys = window, max_keys
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def refused(self, peer: str, error: ServiceError) -> None:
        """Note one refusal; log it if this peer's reason was not logged lately."""
        now = time.monotonic()
        key = (peer.rsplit(":", 1)[0], error.reason)  # the host, not each ephemeral port
        last, held = self._seen.get(key, (float("-inf"), 0))
        if now - last < self._window:
            self._seen[key] = (last, held + 1)
            return
        if len(self._seen) >= self._max_keys:
            self._seen.clear()
        self._seen[key] = (now, 0)
        # What the caller is not told (why a token failed verification) is logged here, once.
        cause = error.__cause__
        log.warning(
            "caller refused",
            peer=key[0],
            code=error.code.name,
            reason=error.reason,
            why=error.message,
            **({"detail": str(cause)[:200]} if cause is not None and str(cause) else {}),
            **({"similar_since_last": held} if held else {}),
        )


class Gate:
    """Decides who a call is from, before its handler runs (see the module docstring)."""

    def __init__(
        self,
        auth: Authenticator,
        *,
        service_tokens: ServiceTokens | None,
        trusted: Sequence[str],
        tls: bool = False,
    ) -> None:
        self._auth = auth
        self._tokens = service_tokens
        self._trusted = frozenset(trusted)
        self._tls = tls
        self.refusals = RefusalLog()

    @property
    def mode(self) -> str:
        """How user tokens are checked (``jwks`` or ``shared-secret``), for the start-up line."""
        return self._auth.mode

    @classmethod
    def from_settings(cls, settings: ServerSettings, *, tls: bool = False) -> Gate:
        """The gate the settings configure; ``AuthConfigError`` when tokens cannot be checked."""
        trusted = [n.strip() for n in settings.mesh_trusted_callers.split(",") if n.strip()]
        return cls(
            Authenticator.from_settings(settings),
            service_tokens=None if tls else ServiceTokens.from_settings(settings),
            trusted=trusted,
            tls=tls,
        )

    async def admit(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Caller | None:
        """The caller of ``method``; None for open methods. Refusals raise a ``ServiceError``."""
        if method.startswith(OPEN_PREFIXES):
            return None
        try:
            return await self._admit(context)
        except ServiceError as exc:
            self.refusals.refused(context.peer() or "unknown", exc)
            raise

    async def _admit(self, context: grpc.aio.ServicerContext[Any, Any]) -> Caller:
        metadata = tuple(context.invocation_metadata() or ())
        for_user = _value(metadata, USER_KEY)
        service = self._service_of(context, metadata)
        if for_user is not None and service is not None and service in self._trusted:
            user = for_user.strip()
            if not user or len(user) > _MAX_USER_CHARS:
                raise Unauthenticated(f"{USER_KEY} names no usable user", reason="INVALID_USER")
            return Caller(user, service)
        user = await self._auth.authenticate(metadata)
        if for_user is not None and for_user.strip() != user:
            raise PermissionDenied(
                f"a token of one user cannot act for another ({USER_KEY}); only the mesh's "
                "trusted services may call for a user",
                reason="NOT_TRUSTED_FOR_USER",
            )
        return Caller(user)

    def _service_of(
        self, context: grpc.aio.ServicerContext[Any, Any], metadata: Sequence[tuple[str, Any]]
    ) -> str | None:
        if self._tls:
            names = list(context.auth_context().get("x509_common_name") or ())
            return names[0].decode() if names else None
        token = _value(metadata, SERVICE_TOKEN_KEY)
        if token is None:
            return None
        if self._tokens is None:
            raise Unauthenticated(
                "this server checks no service tokens (no MESH_TOKEN_KEY or JWT_SECRET)",
                reason="INVALID_SERVICE_TOKEN",
            )
        return self._tokens.identity(token)


def _value(metadata: Sequence[tuple[str, Any]], key: str) -> str | None:
    found = next((v for k, v in metadata if k == key), None)
    return found if isinstance(found, str) else None


MetadataSource = Callable[[], Sequence[tuple[str, str]]]


class _AddMetadata:
    """Adds ``source()``'s pairs to every call that lacks their keys."""

    def __init__(self, source: MetadataSource) -> None:
        self._source = source

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        have = list(details.metadata or ())
        keys = {k for k, _ in have}
        extra = [(k, v) for k, v in self._source() if k not in keys]
        return grpc.aio.ClientCallDetails(
            details.method,
            details.timeout,
            grpc.aio.Metadata(*have, *extra),
            details.credentials,
            details.wait_for_ready,
        )


class _UnaryUnary(_AddMetadata, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


class _UnaryStream(_AddMetadata, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


def add_metadata(source: MetadataSource) -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors (a channel takes one per call shape) adding ``source()``'s pairs to
    every unary and server-streaming call that does not send those keys itself."""
    return [_UnaryUnary(source), _UnaryStream(source)]


def service_credentials(
    settings: ServerSettings, identity: str, *, tls: bool
) -> list[grpc.aio.ClientInterceptor]:
    """The interceptors a mesh service's channels need to call for users as ``identity``: none
    in TLS mode (its client certificate says who it is), a service token otherwise."""
    if tls:
        return []
    tokens = ServiceTokens.from_settings(settings)
    if tokens is None:
        raise AuthConfigError(
            "calling other services for users needs MESH_TOKEN_KEY or JWT_SECRET (or mTLS)"
        )
    return add_metadata(lambda: ((SERVICE_TOKEN_KEY, tokens.mint(identity)),))


def bearer(token: str) -> MetadataSource:
    """A metadata source sending ``token`` as the user's bearer token."""
    return lambda: (("authorization", f"Bearer {token}"),)
