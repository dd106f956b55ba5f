"""Bearer tokens: the shared-secret mode's claim checks, and the production mode's RS256 /
ES256 keys fetched from a JWKS URL (a real HTTP server on 127.0.0.1 serving keys made here)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from mesh.auth import AuthConfigError, Authenticator, AuthSettings, mint_token
from mesh.errors import Unauthenticated, Unavailable
from tests.http_servers import serve_app

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
ISSUER = "https://id.example.test/"
AUDIENCE = "photofun-api"


def header(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


def claims(**changes: Any) -> dict[str, Any]:
    t = int(time.time())
    base: dict[str, Any] = {
        "sub": "alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": t,
        "exp": t + 600,
    }
    return {k: v for k, v in (base | changes).items() if v is not None}


def refused(auth: Authenticator, token: str, reason: str = "INVALID_TOKEN") -> None:
    with pytest.raises(Unauthenticated) as caught:
        auth.user_of(header(token))
    assert caught.value.reason == reason


def test_the_shared_secret_mode_checks_every_claim() -> None:
    auth = Authenticator(SECRET, issuer=ISSUER, audience=AUDIENCE, max_lifetime=3600)
    assert auth.user_of(header(jwt.encode(claims(), SECRET))) == "alice"
    t = int(time.time())
    for bad in (
        claims(iss="https://evil.example/"),
        claims(iss=None),
        claims(aud="another-api"),
        claims(aud=None),
        claims(exp=32503680000),  # year 3000
        claims(exp=str(t + 600)),  # numeric string
        claims(iat=str(t)),
        claims(nbf=str(t)),
        claims(iat=None),
        claims(iat=t + 3600),  # issued in the future
        claims(iat=t - 7200, exp=t + 600),  # lives 2 h 10 min, more than the hour allowed
        claims(exp=True),
        claims(sub=""),
    ):
        refused(auth, jwt.encode(bad, SECRET))
    refused(auth, jwt.encode(claims(exp=t - 3600), SECRET), "TOKEN_EXPIRED")
    refused(auth, jwt.encode(claims(), "another-secret-that-is-32-bytes-long"))
    refused(auth, jwt.encode(claims(), SECRET * 2, algorithm="HS512"))
    refused(auth, "x" * 10_000)
    # Clock skew within the leeway is fine.
    assert auth.user_of(header(jwt.encode(claims(iat=t + 10), SECRET))) == "alice"


def test_a_token_accepted_before_is_refused_once_it_expires() -> None:
    """Verified tokens are remembered (one check per token, not per call) only until they
    expire; a remembered token is still that token: another one is checked on its own."""
    auth = Authenticator(SECRET, issuer=ISSUER, audience=AUDIENCE, leeway=0)
    t = int(time.time())
    token = jwt.encode(claims(exp=t + 2), SECRET)
    assert auth.user_of(header(token)) == "alice"
    assert auth.user_of(header(token)) == "alice"
    refused(auth, jwt.encode(claims(sub="bob", exp=t + 2), "another-secret-that-is-32-bytes-long"))
    time.sleep(t + 2.1 - time.time())
    refused(auth, token, "TOKEN_EXPIRED")


def test_mint_token_makes_what_the_default_authenticator_accepts() -> None:
    assert Authenticator(SECRET).user_of(header(mint_token(SECRET, "bob"))) == "bob"


def test_without_a_secret_or_a_jwks_url_nothing_is_verified() -> None:
    with pytest.raises(AuthConfigError, match="JWT_SECRET"):
        Authenticator.from_settings(AuthSettings(jwt_secret=""))
    with pytest.raises(AuthConfigError, match="JWT_ISSUER"):
        Authenticator.from_settings(AuthSettings(jwt_jwks_url="https://id.example.test/jwks"))
    with pytest.raises(ValueError, match="32 bytes"):
        AuthSettings(jwt_secret="short")


class KeyServer:
    """The identity provider's JWKS endpoint: an RSA and an EC key; counts its fetches."""

    def __init__(self) -> None:
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.fetches = 0
        self.down = False

    def jwks(self) -> dict[str, Any]:
        rsa_jwk = json.loads(RSAAlgorithm.to_jwk(self.rsa.public_key()))
        ec_jwk = json.loads(ECAlgorithm.to_jwk(self.ec.public_key()))
        rsa_jwk |= {"kid": "rsa-1", "use": "sig", "alg": "RS256"}
        ec_jwk |= {"kid": "ec-1", "use": "sig", "alg": "ES256"}
        return {"keys": [rsa_jwk, ec_jwk]}

    async def handle(self, request: web.Request) -> web.Response:
        self.fetches += 1
        if self.down:
            return web.Response(status=503)
        return web.json_response(self.jwks())

    def sign(self, kind: str, body: dict[str, Any], kid: str | None = None) -> str:
        key: Any = self.rsa if kind == "rsa" else self.ec
        alg = "RS256" if kind == "rsa" else "ES256"
        return jwt.encode(body, key, algorithm=alg, headers={"kid": kid or f"{kind}-1"})


@pytest.fixture
async def idp() -> AsyncIterator[tuple[KeyServer, str]]:
    keys = KeyServer()
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", keys.handle)
    async with serve_app(app) as url:
        yield keys, url + "/.well-known/jwks.json"


async def test_the_production_mode_verifies_rs256_and_es256_with_the_providers_keys(
    idp: tuple[KeyServer, str],
) -> None:
    keys, url = idp
    settings = AuthSettings(
        jwt_jwks_url=url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwt_secret=SECRET
    )
    auth = Authenticator.from_settings(settings)
    assert auth.mode == "jwks"
    for kind in ("rsa", "ec"):
        assert await auth.authenticate(header(keys.sign(kind, claims()))) == "alice"
    assert keys.fetches == 1  # the key set is cached
    # Claims are checked the same way as with a secret.
    with pytest.raises(Unauthenticated):
        await auth.authenticate(header(keys.sign("rsa", claims(iss="https://evil.example/"))))
    with pytest.raises(Unauthenticated):
        await auth.authenticate(header(keys.sign("ec", claims(exp=32503680000))))
    # An HS256 token, even signed with JWT_SECRET (or with the public key as an HMAC secret),
    # is never taken in this mode.
    with pytest.raises(Unauthenticated):
        await auth.authenticate(header(jwt.encode(claims(), SECRET)))
    # A key the provider does not list, or another provider's key under a listed kid.
    stranger = KeyServer()
    with pytest.raises(Unauthenticated):
        await auth.authenticate(header(stranger.sign("rsa", claims(), kid="rsa-9")))
    with pytest.raises(Unauthenticated):
        await auth.authenticate(header(stranger.sign("rsa", claims())))


async def test_an_unreachable_identity_provider_is_unavailable(
    idp: tuple[KeyServer, str],
) -> None:
    keys, url = idp
    keys.down = True
    auth = Authenticator(None, jwks_url=url, issuer=ISSUER, audience=AUDIENCE)
    with pytest.raises(Unavailable) as caught:
        await auth.authenticate(header(keys.sign("rsa", claims())))
    assert caught.value.reason == "JWKS_UNAVAILABLE"
