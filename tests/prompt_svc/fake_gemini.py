"""A fake Gemini REST endpoint on 127.0.0.1 speaking the wire format google-genai 3.4 uses.

The SDK posts ``/{version}/models/{model}:generateContent`` with the key in the
``x-goog-api-key`` header. The fake is as strict as the real API (``tests/cloud_contracts.py``):
a missing or wrong key, an unknown or retired model, an API version without the fields sent,
or an unknown field is refused with Google's own error body before any scripted answer. Tests
script the answers in order and read back what arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests import cloud_contracts
from tests.http_servers import serve_app

MODEL_VERSION = "gemini-3.5-flash-lite"


@dataclass(frozen=True)
class Reply:
    """One scripted answer: HTTP status, JSON body, extra headers, delay before answering."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as it reached the fake."""

    at: float  # time.monotonic() on arrival
    version: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def user_document(self) -> dict[str, Any]:
        """The JSON document the client sent as the (last) user turn."""
        last = self.body["contents"][-1]
        assert last.get("role", "user") == "user"
        document: dict[str, Any] = json.loads(last["parts"][0]["text"])
        return document

    @property
    def history(self) -> list[tuple[str, dict[str, Any]]]:
        """The turns sent before the user turn, as (role, JSON document), oldest first."""
        return [
            (content["role"], json.loads(content["parts"][0]["text"]))
            for content in self.body["contents"][:-1]
        ]


def answer(payload: dict[str, Any] | str, *, finish: str = "STOP") -> Reply:
    """A 200 with one candidate whose text is ``payload`` (JSON-encoded unless a string)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return Reply(
        body={
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": finish,
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": 120,
                "candidatesTokenCount": 80,
                "totalTokenCount": 200,
            },
            "modelVersion": MODEL_VERSION,
            "responseId": "fake-response",
        }
    )


def blocked(reason: str = "SAFETY") -> Reply:
    """A 200 whose prompt was refused: promptFeedback.blockReason and no candidates."""
    return Reply(
        body={
            "promptFeedback": {"blockReason": reason},
            "usageMetadata": {"promptTokenCount": 12, "totalTokenCount": 12},
            "modelVersion": MODEL_VERSION,
        }
    )


def error(
    code: int,
    status: str,
    message: str,
    *,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """A google.rpc.Status error body, as the real API sends it."""
    payload: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details is not None:
        payload["details"] = details
    return Reply(status=code, body={"error": payload}, headers=headers or {})


def rate_limited(retry_delay: str | None = None, *, headers: dict[str, str] | None = None) -> Reply:
    """A 429 RESOURCE_EXHAUSTED, with a google.rpc.RetryInfo when ``retry_delay`` is given."""
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{"quotaMetric": "generativelanguage.googleapis.com/requests"}],
        }
    ]
    if retry_delay is not None:
        details.append(
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": retry_delay}
        )
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota.",
        details=details,
        headers=headers,
    )


class FakeGemini:
    """Serves scripted replies in order; the last one repeats when the script runs out."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.url = ""
        self.received: list[Received] = []
        self.refused: list[dict[str, Any]] = []  # error bodies of requests refused as invalid
        self._script: list[Reply] = []
        self._closing = asyncio.Event()

    def script(self, *replies: Reply) -> None:
        """Replace the answers still to come."""
        self._script = list(replies)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        version = request.match_info["version"]
        target = request.match_info["target"]
        model = target.partition(":")[0]
        headers = {name.lower(): value for name, value in request.headers.items()}
        body = await request.json()
        refusal = cloud_contracts.gemini_refusal(version, target, self.api_key, headers, body)
        if refusal is not None:
            self.refused.append(refusal[1])
            return web.json_response(refusal[1], status=refusal[0])
        self.received.append(Received(time.monotonic(), version, model, headers, body))
        reply = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        if reply.delay:
            # Wake on shutdown so a "slow" answer never holds up the server's cleanup.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), reply.delay)
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeGemini]:
        """Serve on 127.0.0.1 on an ephemeral port; ``url`` is the SDK's base_url."""
        app = web.Application()
        app.router.add_post("/{version}/models/{target}", self._handle)
        async with serve_app(app) as url:
            self.url = url
            try:
                yield self
            finally:
                self._closing.set()
