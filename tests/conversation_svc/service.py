"""What the conversation service tests share: tokens, a status check, the stub starter's type.

The ``start_stub`` and ``stub`` fixtures that use these live in this folder's conftest.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
import pytest

from conversation_svc.tokens import TokenSigner, derive_key
from mesh.auth import mint_token
from tests.status import details_of

if TYPE_CHECKING:
    from photofun.v1 import conversation_service_pb2_grpc as rpc

    Stub = rpc.ConversationServiceAsyncStub

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
MEDIA = "http://127.0.0.1:8090"

StartStub = Callable[..., Awaitable["Stub"]]


def signer() -> TokenSigner:
    """Signs tokens as the service under test does (its key derived from SECRET): for tests
    that forge well-signed tokens with contents the service never issued."""
    return TokenSigner(derive_key(SECRET.encode()))


def auth(user: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {mint_token(SECRET, user)}"),)


async def expect(call: Any, code: grpc.StatusCode, *, field: str = "", reason: str = "") -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    got = details_of(caught.value)
    assert got.code == code, got
    if field:
        assert got.field == field
    if reason:
        assert got.reason == reason
