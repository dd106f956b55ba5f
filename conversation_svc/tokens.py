"""Opaque, tamper-evident tokens: page tokens (ListConversations, ListMessages) and resume
tokens (WatchMessage, WatchConversation(s)).

A token is ``base64url(json) "." base64url(mac)``, the MAC an HMAC-SHA256 (cut to 128 bits) of
its purpose and its payload under the service's key (``CONVERSATION_SVC_TOKEN_KEY``, else
derived from ``JWT_SECRET``; every replica must share it). A token this service did not issue,
one edited by hand, or one issued for another purpose (a page token sent as a resume token) is
INVALID_ARGUMENT naming the field, before anything in it is used. What a valid token carries is
still checked by its reader (the MAC proves who wrote it, not that it is still current).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any

from mesh.errors import InvalidArgument

MAX_TOKEN_CHARS = 2048  # every token this service issues is far shorter
_MAC_BYTES = 16
_KDF_LABEL = b"photofun conversation tokens v1"


def derive_key(secret: bytes) -> bytes:
    """A token key derived from another secret (JWT_SECRET), distinct from it."""
    return hmac.new(secret, _KDF_LABEL, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Issues and checks tokens under one key."""

    def __init__(self, key: bytes | None = None) -> None:
        # Without a key (tests, one-off tools) tokens are valid only in this process.
        self._key = key or secrets.token_bytes(32)

    def _mac(self, purpose: str, body: bytes) -> bytes:
        return hmac.new(self._key, purpose.encode() + b"\n" + body, hashlib.sha256).digest()[
            :_MAC_BYTES
        ]

    def encode(self, purpose: str, payload: Mapping[str, Any]) -> str:
        """A token carrying ``payload`` for ``purpose`` ("page", "message", "changes" ...)."""
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(body)}.{_b64(self._mac(purpose, body))}"

    def decode(self, purpose: str, token: str, field: str) -> dict[str, Any]:
        """The payload of a token this service issued for ``purpose``; INVALID_ARGUMENT
        naming ``field`` for anything else."""
        refused = InvalidArgument(field, "is not a token this service issued")
        if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1 or not token.isascii():
            raise refused
        body_text, mac_text = token.split(".")
        try:
            body, mac = _unb64(body_text), _unb64(mac_text)
        except (binascii.Error, ValueError) as exc:
            raise refused from exc
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            raise refused
        try:
            value = json.loads(body)
        except ValueError as exc:  # pragma: no cover - we only sign JSON we wrote
            raise refused from exc
        if not isinstance(value, dict):  # pragma: no cover - idem
            raise refused
        return value
