"""The web image (web/Dockerfile): its nginx configuration served by a real nginx, and its
place in docker-compose.yml. Without nginx (`apt-get install -y nginx-light`) the nginx tests
skip, unless ``PHOTOFUN_REQUIRE_BROWSER=1`` (CI) makes that a failure."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.deploy.conftest import COMPOSE_YAML, REPO, load_yaml
from tests.deploy.local_web import find_nginx, running_web

EDGE = "https://api.studio.example.com"


@pytest.fixture(scope="module")
def nginx() -> str:
    found = find_nginx()
    if not found:
        why = "no nginx: `apt-get install -y nginx-light` (or set NGINX_BIN)"
        if os.environ.get("PHOTOFUN_REQUIRE_BROWSER") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built page, plus a dotfile that must never be served."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["node", str(REPO / "web" / "build.mjs"), "--outdir", str(out)], check=True)
    (out / ".env").write_text("SECRET=1")
    return out


@pytest_asyncio.fixture
async def site(nginx: str, dist: Path, tmp_path: Path) -> AsyncIterator[str]:
    async with running_web(nginx, dist, EDGE, tmp_path) as url:
        yield url


async def test_the_page_is_told_where_the_edge_is(site: str) -> None:
    async with httpx.AsyncClient() as client:
        config = await client.get(site + "/config.json")
        page = await client.get(site + "/")
        script = await client.get(site + "/app.js")
    assert config.headers["content-type"].startswith("application/json")
    assert json.loads(config.text) == {"grpcWebUrl": EDGE}  # no dev token in production
    assert "no-cache" in config.headers["cache-control"]
    assert page.status_code == 200
    assert "<script" in page.text
    assert "no-cache" in page.headers["cache-control"]
    policy = page.headers["content-security-policy"]
    assert f"connect-src 'self' {EDGE} http://localhost:8090;" in policy
    assert "script-src 'self'" in policy
    assert script.headers["content-type"] == "application/javascript"
    assert script.headers["x-content-type-options"] == "nosniff"  # set on every location


@pytest.mark.parametrize("path", ["/.env", "/missing.js", "/../etc/passwd"])
async def test_nothing_else_is_served(site: str, path: str) -> None:
    async with httpx.AsyncClient() as client:
        answer = await client.get(site + path)
    assert answer.status_code == 404
    assert "SECRET" not in answer.text


def test_compose_serves_the_page_next_to_envoy() -> None:
    services = load_yaml(COMPOSE_YAML)["services"]
    web = services["web"]
    assert web["build"] == {"context": ".", "dockerfile": "web/Dockerfile"}
    assert (
        web["environment"]["PUBLIC_GRPC_WEB_URL"] == "${PUBLIC_GRPC_WEB_URL:-http://localhost:8080}"
    )
    assert services["envoy"]["ports"] == ["${ENVOY_PORT:-8080}:8080"]  # what that URL names
    assert "/healthz" in " ".join(web["healthcheck"]["test"])


def test_the_web_image_builds_from_the_lock_and_the_page_only() -> None:
    dockerfile = (REPO / "web" / "Dockerfile").read_text()
    assert "npm ci" in dockerfile  # the lock decides, as in development
    assert "COPY web/deploy/default.conf.template /etc/nginx/templates/" in dockerfile
    lines = (REPO / "web" / "Dockerfile.dockerignore").read_text().splitlines()
    ignore = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*"  # everything out, then only what the build reads
    assert {"!package.json", "!package-lock.json", "!web"} <= set(ignore)
