"""The Media Service client against the real stand-in and against failing servers."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from devstack.media_server import create_app
from mesh.errors import FailedPrecondition, InvalidArgument, NotFound, ServiceError
from mesh.media import MAX_URL_CHARS, MediaClient, MediaRefused, MediaUnavailable, check_media_url
from mesh.retry import Backoff
from tests.http_servers import serve_app

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8

FAST = Backoff(attempts=3, first=0.01)  # the real policy, with waits short enough for tests


@pytest.fixture
async def media(tmp_path: Path) -> AsyncIterator[MediaClient]:
    async with (
        serve_app(create_app(tmp_path / "media")) as url,
        MediaClient(url, retry=FAST) as client,
    ):
        yield client


async def test_upload_then_download_round_trips_and_never_duplicates(
    media: MediaClient, tmp_path: Path
) -> None:
    url = await media.upload(PNG, filename="front.png", mime_type="image/png")
    assert url.startswith(media.base_url + "/api/v1/files/")
    assert url.endswith(".png")
    again = await media.upload(PNG, filename="retry.png", mime_type="image/png")
    assert again == url
    assert len(list((tmp_path / "media").iterdir())) == 1
    assert await media.download(url, max_bytes=10_000) == PNG


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x.png",
        "http://example.com/x.png",
        "gopher://127.0.0.1",
    ],
)
async def test_only_the_media_service_origin_is_fetched(media: MediaClient, url: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await media.download(url, max_bytes=1000)
    assert caught.value.field == "image_url"


async def test_user_info_and_other_ports_on_the_same_host_are_refused(media: MediaClient) -> None:
    host_port = media.base_url.removeprefix("http://")
    for url in (f"http://user@{host_port}/api/v1/files/x.png", "http://127.0.0.1:1/x.png"):
        with pytest.raises(InvalidArgument):
            media.check_url(url)


async def test_missing_files_are_not_found_and_big_ones_are_cut_off(media: MediaClient) -> None:
    with pytest.raises(NotFound):
        await media.download(media.base_url + "/api/v1/files/" + "0" * 64 + ".png", max_bytes=10)
    url = await media.upload(PNG, filename="a.png", mime_type="image/png")
    with pytest.raises(FailedPrecondition) as caught:
        await media.download(url, max_bytes=100)
    assert caught.value.reason == "IMAGE_TOO_LARGE"


async def test_redirects_are_not_followed() -> None:
    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound("http://169.254.169.254/")

    app = web.Application()
    app.router.add_get("/api/v1/files/x.png", redirect)
    async with serve_app(app) as url, MediaClient(url) as client:
        with pytest.raises(InvalidArgument):
            await client.download(url + "/api/v1/files/x.png", max_bytes=100)


async def test_uploads_retry_5xx_with_one_idempotency_key() -> None:
    keys: list[str] = []

    async def flaky(request: web.Request) -> web.StreamResponse:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) < 3:
            return web.Response(status=503)
        return await _answer_like_the_stand_in(request)

    app = web.Application()
    app.router.add_post("/api/v1/file/uploads", flaky)
    async with (
        serve_app(app) as url,
        MediaClient(url, retry=FAST) as client,
    ):
        file_url = await client.upload(PNG, filename="a.png", mime_type="image/png")
    assert file_url.endswith(hashlib.sha256(PNG).hexdigest() + ".png")
    assert keys == [hashlib.sha256(PNG).hexdigest()] * 3


@pytest.mark.parametrize(
    ("status", "error", "calls", "words"),
    [
        (500, MediaUnavailable, 3, "HTTP 500"),  # may pass: bounded retries
        (429, MediaUnavailable, 3, "HTTP 429"),  # busy: may pass later
        (408, MediaUnavailable, 3, "HTTP 408"),
        (413, MediaRefused, 1, "refused the upload (HTTP 413)"),  # cannot pass: no retry
        (404, MediaRefused, 1, "refused the upload (HTTP 404)"),
    ],
)
async def test_failed_uploads_are_retried_only_when_a_retry_can_help(
    status: int, error: type[ServiceError], calls: int, words: str
) -> None:
    seen = 0

    async def answer(_: web.Request) -> web.Response:
        nonlocal seen
        seen += 1
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/api/v1/file/uploads", answer)
    async with (
        serve_app(app) as url,
        MediaClient(url, retry=FAST) as client,
    ):
        with pytest.raises(error) as caught:
            await client.upload(PNG, filename="a.png", mime_type="image/png")
    assert seen == calls
    assert words in caught.value.message
    assert caught.value.reason == error.default_reason  # MEDIA_UNAVAILABLE / MEDIA_REFUSED


@pytest.mark.parametrize("header", ["Retry-After", "retry-after-ms"])
async def test_a_busy_media_service_is_waited_for_as_long_as_it_asks(header: str) -> None:
    seen: list[float] = []

    async def busy_once(request: web.Request) -> web.StreamResponse:
        seen.append(time.monotonic())
        if len(seen) == 1:
            value = "1" if header == "Retry-After" else "1000"
            return web.Response(status=429, headers={header: value})
        return await _answer_like_the_stand_in(request)

    app = web.Application()
    app.router.add_post("/api/v1/file/uploads", busy_once)
    async with serve_app(app) as url, MediaClient(url, retry=FAST) as client:
        await client.upload(PNG, filename="a.png", mime_type="image/png")
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.95  # the 1 s it asked for, not FAST's milliseconds


async def test_a_wait_longer_than_the_quick_tries_is_left_to_the_caller() -> None:
    seen = 0

    async def busy(_: web.Request) -> web.Response:
        nonlocal seen
        seen += 1
        return web.Response(status=429, headers={"Retry-After": "30"})

    app = web.Application()
    app.router.add_post("/api/v1/file/uploads", busy)
    async with serve_app(app) as url, MediaClient(url, retry=FAST) as client:
        with pytest.raises(MediaUnavailable) as caught:
            await client.upload(PNG, filename="a.png", mime_type="image/png")
    assert seen == 1  # no quick try can wait 30 s
    assert caught.value.retry_after == 30.0  # the pipeline waits it, within its budget


async def test_an_unreachable_media_service_is_unavailable() -> None:
    async with MediaClient("http://127.0.0.1:1", retry=Backoff(attempts=2, first=0.01)) as client:
        with pytest.raises(MediaUnavailable):
            await client.upload(PNG, filename="a.png", mime_type="image/png")


async def _answer_like_the_stand_in(request: web.Request) -> web.Response:
    """Answer like the stand-in would, by its content-addressed naming rule."""
    data = b""
    reader = await request.multipart()
    async for part in reader:
        data = await part.read()  # type: ignore[union-attr]
    name = hashlib.sha256(data).hexdigest() + ".png"
    return web.json_response({"file_url": f"http://{request.host}/api/v1/files/{name}"})


async def test_urls_under_the_public_name_are_accepted_and_fetched_through_the_inner_one(
    tmp_path: Path,
) -> None:
    public = "http://photos.example:8090"
    async with (
        serve_app(create_app(tmp_path / "media", public_url=public)) as inner,
        MediaClient(inner, public_url=public) as client,
    ):
        url = await client.upload(PNG, filename="a.png", mime_type="image/png")
        assert url.startswith(public + "/api/v1/files/")
        assert await client.download(url, max_bytes=10_000) == PNG
        with pytest.raises(InvalidArgument):
            await client.download("http://photos.example:9999/api/v1/files/x.png", max_bytes=10)


@pytest.mark.parametrize(
    "url",
    [
        "http://media:8090/api/v1/files/a.png\r\nX-Injected: 1",
        "http://media:8090/api/v1/files/a.png\n",
        "http://media:8090/api/v1/files/a\x00.png",
        "http://media:8090/api/v1/files/a b.png",
        "http://media:8090/api/v1/files/caf\u00e9.png",
        "http://media:8090/" + "a" * MAX_URL_CHARS,
        "http://media:99999/a.png",
        "http://[::1/a.png",
    ],
)
def test_urls_with_controls_spaces_or_too_long_are_refused_at_the_door(url: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        check_media_url(url, "http://media:8090")
    assert caught.value.field == "image_url"


def test_a_plain_media_url_passes() -> None:
    url = "http://media:8090/api/v1/files/" + "a" * 64 + ".png?v=1%20x"
    assert check_media_url(url, "http://media:8090") == url
