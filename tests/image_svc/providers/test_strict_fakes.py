"""The fake clouds refuse what the real APIs refuse, with each provider's own error body.

These send the requests an out-of-date client would send — the old Pollinations host's path, a
keyless call, a parameter the API does not have, a shut-down model, the Gemini v1 API with v1beta
fields — and check the refusal, so that the adapters' own tests cannot pass against a fake that
accepts anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.image_svc.providers.fakes import FakeGemini, FakeOpenAI, FakePollinations

KEY = "test-key-0123456789"


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_pollinations_refuses_the_old_path_a_missing_key_and_unknown_parameters(
    http: httpx.AsyncClient,
) -> None:
    fake = FakePollinations(KEY)
    async with fake.serve() as url:
        bearer = {"Authorization": f"Bearer {KEY}"}
        old = await http.get(f"{url}/prompt/a%20car", params={"seed": 1}, headers=bearer)
        keyless = await http.get(f"{url}/image/a%20car", params={"model": "flux"})
        by_query = await http.get(f"{url}/image/a%20car", params={"key": KEY, "seed": 5})
        extra = await http.get(
            f"{url}/image/a%20car", params={"nologo": "true", "private": "true"}, headers=bearer
        )
        unknown = await http.get(f"{url}/image/a%20car", params={"model": "dalle"}, headers=bearer)

    assert old.status_code == 404
    assert old.json()["success"] is False  # the gateway's own error body, not a plain page
    assert old.json()["error"]["code"] == "NOT_FOUND"
    assert keyless.status_code == 401
    assert keyless.json()["success"] is False
    assert keyless.json()["error"]["code"] == "UNAUTHORIZED"
    assert by_query.status_code == 200  # ?key= is the gateway's other way to pass the key
    assert by_query.headers["content-type"] == "image/jpeg"
    assert extra.status_code == 400
    assert set(extra.json()["error"]["details"]["fieldErrors"]) == {"nologo", "private"}
    assert unknown.status_code == 400
    assert unknown.json()["error"]["details"]["fieldErrors"] == {"model": ["Invalid option: dalle"]}


async def test_openai_refuses_a_missing_key_a_seed_a_shut_down_model_and_bad_sizes(
    http: httpx.AsyncClient,
) -> None:
    fake = FakeOpenAI(KEY)
    bearer = {"Authorization": f"Bearer {KEY}"}
    base: dict[str, Any] = {"model": "gpt-image-2.6-flare", "prompt": "a car", "size": "1024x1024"}
    async with fake.serve() as url:
        endpoint = f"{url}/v1/images/generations"
        keyless = await http.post(endpoint, json=base)
        seeded = await http.post(endpoint, json={**base, "seed": 7}, headers=bearer)
        retired = await http.post(endpoint, json={**base, "model": "dall-e-3"}, headers=bearer)
        odd = await http.post(endpoint, json={**base, "size": "1000x1000"}, headers=bearer)
        narrow = await http.post(endpoint, json={**base, "size": "3840x1024"}, headers=bearer)
        edit_fidelity = await http.post(
            f"{url}/v1/images/edits",
            data={**base, "input_fidelity": "high"},
            files={"image": ("a.png", b"png", "image/png")},
            headers=bearer,
        )
        fine = await http.post(endpoint, json=base, headers=bearer)

    assert keyless.status_code == 401
    assert "didn't provide an API key" in keyless.json()["error"]["message"]
    assert (seeded.status_code, seeded.json()["error"]["code"]) == (400, "unknown_parameter")
    assert seeded.json()["error"]["param"] == "seed"
    assert (retired.status_code, retired.json()["error"]["code"]) == (404, "model_not_found")
    assert (odd.status_code, odd.json()["error"]["param"]) == (400, "size")
    assert "multiples of 16" in odd.json()["error"]["message"]
    assert "3:1" in narrow.json()["error"]["message"]
    assert edit_fidelity.json()["error"]["param"] == "input_fidelity"
    assert fine.status_code == 200


async def test_openai_refuses_an_unknown_endpoint_and_unknown_values_with_its_error_body(
    http: httpx.AsyncClient,
) -> None:
    fake = FakeOpenAI(KEY)
    bearer = {"Authorization": f"Bearer {KEY}"}
    base: dict[str, Any] = {"model": "gpt-image-2.6-flare", "prompt": "a car", "size": "1024x1024"}
    async with fake.serve() as url:
        moved = await http.post(f"{url}/v2/images/generations", json=base, headers=bearer)
        misspelt = await http.post(f"{url}/v1/images/generate", json=base, headers=bearer)
        endpoint = f"{url}/v1/images/generations"
        quality = await http.post(endpoint, json={**base, "quality": "ultra"}, headers=bearer)
        busy = await http.post(endpoint, json={**base, "complexity": "extreme"}, headers=bearer)
        fine = await http.post(
            endpoint, json={**base, "quality": "xhigh", "complexity": "low"}, headers=bearer
        )

    assert moved.status_code == misspelt.status_code == 404
    assert moved.json()["error"] == {
        "message": "Invalid URL (POST /v2/images/generations)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    assert misspelt.json()["error"]["message"] == "Invalid URL (POST /v1/images/generate)"
    assert (quality.status_code, quality.json()["error"]["param"]) == (400, "quality")
    assert "'xhigh'" in quality.json()["error"]["message"]
    assert (busy.status_code, busy.json()["error"]["param"]) == (400, "complexity")
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("path", "headers", "body", "status", "said"),
    [
        ("/v2/models/gemini-3.1-flash-image:generateContent", True, {}, 404, "Not Found"),
        ("/v1beta/models/gemini-3.1-flash-image:generateContent", False, {}, 403, "unregistered"),
        (
            "/v1/models/gemini-3.1-flash-image:generateContent",
            True,
            {"generationConfig": {"responseModalities": ["IMAGE"]}},
            400,
            "Unknown name \"responseModalities\" at 'generation_config'",
        ),
        (
            "/v1beta/models/gemini-2.5-flash-image:generateContent",
            True,
            {},
            404,
            "models/gemini-2.5-flash-image is not found for API version v1beta",
        ),
        (
            "/v1beta/models/gemini-3.5-flash-lite:generateContent",
            True,
            {"generationConfig": {"responseModalities": ["IMAGE", "TEXT"]}},
            400,
            "response modalities (IMAGE,TEXT) is not supported",
        ),
        (
            "/v1beta/models/gemini-3-pro-image:generateContent",
            True,
            {
                "generationConfig": {
                    "responseModalities": ["IMAGE"],
                    "imageConfig": {"aspectRatio": "8:1"},
                }
            },
            400,
            "Unsupported image config",
        ),
        (
            "/v1beta/models/gemini-3.1-flash-image:generateContent",
            True,
            {"generationConfig": {"imageConfig": {"outputMimeType": "image/jpeg"}}},
            400,
            'Unknown name "outputMimeType"',
        ),
        (
            "/v1beta/models/gemini-3.1-flash-image:generateContent",
            True,
            {"contents": [{"parts": [{"image": {"data": "AAAA"}}]}]},
            400,
            "Unknown name \"image\" at 'contents[0].parts[0]'",
        ),
        (
            "/v1beta/models/gemini-3.1-flash-image:generateContent",
            True,
            {"contents": [{"parts": [{"inline_data": {"mime": "image/png", "data": "AAAA"}}]}]},
            400,
            "Unknown name \"mime\" at 'contents[0].parts[0].inline_data'",
        ),
        (
            "/v1beta/models/gemini-3.5-flash-lite:generateContent",
            True,
            {"contents": [{"content": "a car"}]},
            400,
            "Unknown name \"content\" at 'contents[0]'",
        ),
        (
            "/v1beta/models/gemini-3.5-flash-lite:generateContent",
            True,
            {"systemInstruction": {"text": "answer JSON"}},
            400,
            "Unknown name \"text\" at 'system_instruction'",
        ),
    ],
)
async def test_gemini_refuses_versions_keys_fields_and_models_it_does_not_have(
    http: httpx.AsyncClient,
    path: str,
    headers: bool,
    body: dict[str, Any],
    status: int,
    said: str,
) -> None:
    fake = FakeGemini(KEY)
    request = {"contents": [{"parts": [{"text": "a car"}]}], **body}
    async with fake.serve() as url:
        reply = await http.post(
            url + path, json=request, headers={"x-goog-api-key": KEY} if headers else {}
        )
    assert reply.status_code == status
    assert said in reply.json()["error"]["message"]


async def test_gemini_takes_proto_field_names_as_well_as_json_names(
    http: httpx.AsyncClient,
) -> None:
    fake = FakeGemini(KEY)
    request = {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "a car like this"},
                    {"inline_data": {"mime_type": "image/png", "data": "AAAA"}},
                ],
            }
        ],
        "system_instruction": {"parts": [{"text": "draw"}]},
        "generation_config": {"response_modalities": ["IMAGE"]},
    }
    async with fake.serve() as url:
        reply = await http.post(
            f"{url}/v1beta/models/gemini-3.1-flash-image:generateContent",
            json=request,
            headers={"x-goog-api-key": KEY},
        )
    assert reply.status_code == 200, reply.text
