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

from photofun_cli.main import run
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
    assert clouds.openai.last.json["quality"] == "low"
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
