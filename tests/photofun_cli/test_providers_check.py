"""``photofun providers check`` against the strict fake clouds (never the real ones in tests)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from image_svc.providers import gemini_images, openai_images, pollinations
from image_svc.providers.base import ImageJob
from image_svc.providers.gemini_images import GeminiImagesProvider
from image_svc.providers.openai_images import OpenAIImagesProvider
from image_svc.providers.pollinations import PollinationsProvider
from photofun_cli import providers as cloud
from photofun_cli.main import run
from prompt_svc.gemini import TEXT_MODELS, GeminiFailure, GeminiRefiner
from tests import cloud_contracts
from tests.image_svc.providers.fakes import FakeGemini, FakeOpenAI, FakePollinations, refused_url

GEMINI_KEY, OPENAI_KEY, POLLINATIONS_KEY = "AIza-check", "sk-check-SECRET", "sk_pollen_check"
NAMES = (
    "GEMINI_API_KEY",
    "GEMINI_BASE_URL",
    "GEMINI_MODEL",
    "GEMINI_IMAGE_MODEL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_IMAGE_MODEL",
    "POLLINATIONS_API_KEY",
    "POLLINATIONS_TOKEN",
    "POLLINATIONS_BASE_URL",
    "POLLINATIONS_MODEL",
    "IMAGE_SVC_PROVIDERS",
)


@dataclass
class Clouds:
    gemini: FakeGemini
    openai: FakeOpenAI
    pollinations: FakePollinations


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read


@pytest.fixture
async def clouds(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Clouds]:
    made = Clouds(
        FakeGemini(GEMINI_KEY), FakeOpenAI(OPENAI_KEY), FakePollinations(POLLINATIONS_KEY)
    )
    async with contextlib.AsyncExitStack() as stack:
        for prefix, fake, key in (
            ("GEMINI", made.gemini, GEMINI_KEY),
            ("OPENAI", made.openai, OPENAI_KEY),
            ("POLLINATIONS", made.pollinations, POLLINATIONS_KEY),
        ):
            monkeypatch.setenv(f"{prefix}_BASE_URL", await stack.enter_async_context(fake.serve()))
            monkeypatch.setenv(f"{prefix}_API_KEY", key)
        yield made


async def check(*extra: str) -> tuple[int, list[dict[str, Any]]]:
    out, err = StringIO(), StringIO()
    code = await asyncio.to_thread(
        run,
        ["providers", "check", "--json", "--timeout", "10", *extra],
        out=Console(file=out, width=200),
        err=Console(file=err, width=200),
    )
    print(out.getvalue(), err.getvalue(), sep="")
    return code, json.loads(out.getvalue())


def row(rows: list[dict[str, Any]], model: str) -> dict[str, Any]:
    [found] = [r for r in rows if r["model"] == model]
    return found


async def test_every_configured_provider_is_checked_with_the_default_models(
    clouds: Clouds,
) -> None:
    code, rows = await check()

    assert code == 0
    assert [(r["provider"], r["model"]) for r in rows] == [
        ("gemini", "gemini-3.5-flash-lite"),
        ("gemini", "gemini-3.1-flash-image"),
        ("openai", "gpt-image-2.6-flare"),
        ("pollinations", "flux"),
    ]
    assert all(r["ok"] and r["reachable"] and r["model_valid"] for r in rows)
    assert all(r["latency_ms"] >= 0 for r in rows)
    assert [r["seed"] for r in rows] == ["n/a", "same image", "no seed", "same image"]
    # The smallest requests: the image probes asked twice with the seed, OpenAI once.
    assert len(clouds.gemini.requests) == 3
    assert [r.path for r in clouds.openai.requests] == ["/v1/images/generations"]
    assert clouds.pollinations.last.query == {
        "model": "flux",
        "width": "256",
        "height": "256",
        "seed": "424242",
    }


async def test_a_seed_that_does_not_reproduce_is_reported_not_failed(clouds: Clouds) -> None:
    clouds.pollinations.mode = "unseeded"
    code, rows = await check()
    assert code == 0
    assert row(rows, "flux")["seed"] == "different image"


async def test_no_seed_sends_one_request_per_model(clouds: Clouds) -> None:
    code, rows = await check("--no-seed")
    assert code == 0
    assert row(rows, "flux")["seed"] == "not checked"
    assert len(clouds.pollinations.requests) == 1


async def test_retired_models_are_reported_invalid_and_fail_the_check(
    clouds: Clouds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GEMINI_MODEL", "gemini-2.5-flash")
    monkeypatch.setenv("GEMINI_IMAGE_MODEL", "gemini-2.5-flash-image")
    monkeypatch.setenv("OPENAI_IMAGE_MODEL", "gpt-image-1")
    monkeypatch.setenv("POLLINATIONS_MODEL", "flux-realism")

    code, rows = await check()

    assert code == 1
    assert all(r["reachable"] and r["model_valid"] is False and not r["ok"] for r in rows)
    assert "is not found for API version v1beta" in row(rows, "gemini-2.5-flash")["detail"]
    assert "model_not_found" in row(rows, "gpt-image-1")["detail"]
    assert "Model 'flux-realism' not found" in row(rows, "flux-realism")["detail"]


async def test_refused_keys_fail_without_echoing_them(
    clouds: Clouds, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = {"GEMINI": "AIza-wrong-key", "OPENAI": "sk-wrong-key", "POLLINATIONS": "sk_wrong"}
    for prefix, key in wrong.items():
        monkeypatch.setenv(f"{prefix}_API_KEY", key)

    code, rows = await check()

    assert code == 1
    assert all(r["reachable"] and r["model_valid"] is None for r in rows)
    text = json.dumps(rows)
    assert not any(key in text for key in wrong.values())
    assert "API key not valid" in rows[0]["detail"]
    assert "the key was refused" in row(rows, "gpt-image-2.6-flare")["detail"]
    assert "UNAUTHORIZED" in row(rows, "flux")["detail"]


async def test_an_unreachable_provider_fails_and_the_others_are_still_checked(
    clouds: Clouds, monkeypatch: pytest.MonkeyPatch
) -> None:
    del clouds
    with refused_url() as url:
        monkeypatch.setenv("OPENAI_BASE_URL", url)
        code, rows = await check("--no-seed")
    assert code == 1
    bad = row(rows, "gpt-image-2.6-flare")
    assert (bad["reachable"], bad["model_valid"], bad["latency_ms"]) == (False, None, None)
    assert bad["detail"].startswith("unreachable: ConnectError")
    assert [r["ok"] for r in rows] == [True, True, False, True]


async def test_only_providers_with_a_key_are_checked(
    clouds: Clouds, monkeypatch: pytest.MonkeyPatch
) -> None:
    for prefix in ("GEMINI", "OPENAI"):
        monkeypatch.delenv(f"{prefix}_API_KEY")
    code, rows = await check()
    assert code == 0
    assert [r["provider"] for r in rows] == ["pollinations"]
    assert clouds.gemini.requests == []


async def test_with_no_key_at_all_it_says_so() -> None:
    out = StringIO()
    code = await asyncio.to_thread(
        run, ["providers", "check"], out=Console(file=out, width=120), err=Console(file=StringIO())
    )
    assert code == 0
    assert "no provider configured" in out.getvalue()


async def test_the_table_names_each_column(clouds: Clouds) -> None:
    del clouds
    out = StringIO()
    code = await asyncio.to_thread(
        run,
        ["providers", "check", "--no-seed"],
        out=Console(file=out, width=200),
        err=Console(file=StringIO()),
    )
    text = out.getvalue()
    assert code == 0
    for heading in ("provider", "model", "reachable", "model valid", "latency", "seed"):
        assert heading in text
    assert "gpt-image-2.6-flare" in text


def shape(value: Any, path: str = "") -> set[str]:
    """The key paths of a JSON body (list items share their list's path), leaving the response
    schema out: a probe's schema differs in its properties, not in the keywords it uses."""
    if isinstance(value, dict):
        out = {path}
        for key, item in value.items():
            if key != "responseSchema":
                out |= shape(item, f"{path}.{key}")
        return out
    if isinstance(value, list):
        return set().union({path}, *(shape(item, f"{path}[]") for item in value))
    return {path}


def schema_keywords(schema: Any) -> set[str]:
    """Every keyword a Gemini Schema uses, at any depth (property names left out)."""
    if isinstance(schema, list):
        return set().union(*(schema_keywords(item) for item in schema))
    if not isinstance(schema, dict):
        return set()
    out = set(schema)
    for key, item in schema.items():
        if key == "properties":
            out |= set().union(*(schema_keywords(p) for p in item.values()))
        elif isinstance(item, dict | list):
            out |= schema_keywords(item)
    return out


async def test_the_probes_send_what_the_services_send(clouds: Clouds) -> None:
    job = ImageJob(cloud.PROMPT, cloud.SEED, cloud.IMAGE_EDGE, cloud.IMAGE_EDGE)
    small = ImageJob(cloud.PROMPT, cloud.SEED, cloud.POLLINATIONS_EDGE, cloud.POLLINATIONS_EDGE)
    adapters = (
        GeminiImagesProvider(api_key=GEMINI_KEY, base_url=clouds.gemini.url),
        OpenAIImagesProvider(api_key=OPENAI_KEY, base_url=clouds.openai.url),
    )
    for adapter in adapters:
        await adapter.generate(job, timeout=10)
        await adapter.aclose()
    poll = PollinationsProvider(api_key=POLLINATIONS_KEY, base_url=clouds.pollinations.url)
    await poll.generate(small, timeout=10)
    await poll.aclose()
    refiner = GeminiRefiner(api_key=GEMINI_KEY, base_url=clouds.gemini.url, attempts=1)
    with contextlib.suppress(GeminiFailure):  # the fake's minimal answer is not a usable one
        await refiner.analyze("a red car")
    await refiner.aclose()
    service_text, service_image = clouds.gemini.requests[1], clouds.gemini.requests[0]
    service_openai, service_poll = clouds.openai.last, clouds.pollinations.last

    code, _ = await check("--no-seed")

    assert code == 0
    probe_text, probe_image = clouds.gemini.requests[2:]
    assert probe_image.path == service_image.path
    assert probe_image.json == service_image.json
    assert clouds.openai.last.path == service_openai.path
    assert clouds.openai.last.json == service_openai.json
    assert clouds.pollinations.last.path == service_poll.path
    assert clouds.pollinations.last.query == service_poll.query
    assert probe_text.path == service_text.path
    assert shape(probe_text.json) == shape(service_text.json)
    schema = service_text.json["generationConfig"]["responseSchema"]
    assert schema_keywords(cloud.TEXT_SCHEMA) == schema_keywords(schema)
    config = service_text.json["generationConfig"]
    assert probe_text.json["generationConfig"]["responseMimeType"] == config["responseMimeType"]


@pytest.mark.parametrize(
    ("table", "field", "failing"),
    [
        (cloud_contracts.GEMINI_CONFIG_FIELDS, "responseSchema", "gemini-3.5-flash-lite"),
        (cloud_contracts.GEMINI_REQUEST_FIELDS, "systemInstruction", "gemini-3.5-flash-lite"),
        (cloud_contracts.GEMINI_CONFIG_FIELDS, "responseModalities", "gemini-3.1-flash-image"),
    ],
)
async def test_a_field_the_api_version_lacks_fails_the_check(
    clouds: Clouds,
    monkeypatch: pytest.MonkeyPatch,
    table: dict[str, frozenset[str]],
    field: str,
    failing: str,
) -> None:
    del clouds
    monkeypatch.setitem(table, "v1beta", table["v1beta"] - {field})

    code, rows = await check("--no-seed")

    assert code == 1
    bad = row(rows, failing)
    assert (bad["ok"], bad["reachable"], bad["model_valid"]) == (False, True, True)
    assert f'Unknown name "{field}"' in bad["detail"]
    assert [r["model"] for r in rows if not r["ok"]] == [failing]


async def test_a_text_answer_that_is_not_json_fails(clouds: Clouds) -> None:
    clouds.gemini.mode = "text_only_not_json"
    code, rows = await check("--no-seed")
    assert code == 1
    assert (
        row(rows, "gemini-3.5-flash-lite")["detail"]
        == "the answer is not the JSON object asked for"
    )


async def test_a_provider_named_without_its_key_fails(
    clouds: Clouds, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IMAGE_SVC_PROVIDERS", "Pollinations, openai,gemini,midjourney")
    for prefix in ("GEMINI", "POLLINATIONS"):
        monkeypatch.delenv(f"{prefix}_API_KEY")

    code, rows = await check("--no-seed")

    assert code == 1
    assert [(r["provider"], r["model"], r["ok"]) for r in rows] == [
        ("midjourney", "—", False),
        ("gemini", "gemini-3.1-flash-image", False),
        ("openai", "gpt-image-2.6-flare", True),
        ("pollinations", "flux", False),
    ]
    assert rows[0]["detail"] == (
        "IMAGE_SVC_PROVIDERS names an unknown provider: image_svc will not start"
    )
    assert rows[1]["detail"] == (
        "named in IMAGE_SVC_PROVIDERS but GEMINI_API_KEY is not set: image_svc will not start"
    )
    assert rows[3]["detail"] == (
        "named in IMAGE_SVC_PROVIDERS but POLLINATIONS_API_KEY is not set:"
        " image_svc leaves it out (off)"
    )
    assert (rows[3]["reachable"], rows[3]["model_valid"]) == (False, None)
    assert clouds.gemini.requests == clouds.pollinations.requests == []


async def test_a_model_outside_the_services_tables_fails(
    clouds: Clouds, monkeypatch: pytest.MonkeyPatch
) -> None:
    del clouds
    # Both are models the provider serves (the strict fakes accept them), but not ones the
    # services were checked against: prompt_svc and image_svc would refuse to start.
    monkeypatch.setenv("GEMINI_MODEL", "gemini-3-pro-image")
    monkeypatch.setenv("POLLINATIONS_MODEL", "kontext")

    code, rows = await check("--no-seed")

    assert code == 1
    text, poll = row(rows, "gemini-3-pro-image"), row(rows, "kontext")
    assert (text["ok"], text["reachable"], text["model_valid"]) == (False, True, True)
    assert text["detail"] == (
        "not in prompt_svc's table of gemini text models: prompt_svc will not start with it"
    )
    assert (poll["ok"], poll["model_valid"]) == (False, True)
    assert poll["detail"].startswith("not in image_svc's table of pollinations models")
    assert [r["ok"] for r in rows if r["model"] not in ("gemini-3-pro-image", "kontext")] == [
        True,
        True,
    ]


def test_the_known_models_are_the_services_tables() -> None:
    assert {
        "gemini text": TEXT_MODELS,
        "gemini": frozenset(gemini_images.MODELS),
        "openai": frozenset(openai_images.MODELS),
        "pollinations": frozenset(pollinations.MODELS),
    } == cloud.KNOWN_MODELS
