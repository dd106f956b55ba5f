"""ImageService over a real port with the generated stubs (mock provider, real Media stand-in)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import itertools
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import pytest
from PIL import Image
from pydantic import SecretStr
from structlog.testing import capture_logs

from devstack.media_server import create_app
from image_svc import app
from image_svc.providers.mock import paced
from image_svc.settings import Settings
from mesh.media import MediaClient
from photofun.v1 import common_pb2, image_service_pb2, image_service_pb2_grpc
from tests.conftest import ChannelTo, StartServer
from tests.http_servers import serve_app
from tests.image_svc.providers.fakes import FakeGemini, FakePollinations
from tests.status import details_of

if TYPE_CHECKING:
    Stub = image_service_pb2_grpc.ImageServiceAsyncStub
CLIO = common_pb2.Subject(
    brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback"
)
POLLINATIONS_KEY = "sk_test_pollinations"
FRONT_SIDE_REAR = [common_pb2.ANGLE_FRONT, common_pb2.ANGLE_SIDE, common_pb2.ANGLE_REAR]


@pytest.fixture
async def media_url(tmp_path: Path) -> AsyncIterator[str]:
    async with serve_app(create_app(tmp_path / "media")) as url:
        yield url


@pytest.fixture
async def stub(
    start_server: StartServer,
    channel_to: ChannelTo,
    media_url: str,
) -> Stub:
    settings = Settings(render_mode="thread", media_service_url=media_url, max_input_bytes=300_000)
    server = await start_server(app.build, settings)
    return image_service_pb2_grpc.ImageServiceStub(channel_to(server))


async def _angles(stub: Stub, **fields: object) -> list[image_service_pb2.GenerateAnglesResponse]:
    request = image_service_pb2.GenerateAnglesRequest(**fields)  # type: ignore[arg-type]
    return [r async for r in stub.GenerateAngles(request)]


async def test_the_clio_set_is_one_session_three_seeds_three_views(stub: Stub) -> None:
    views = await _angles(stub, subject=CLIO, angles=FRONT_SIDE_REAR)
    assert sorted(v.angle for v in views) == sorted(FRONT_SIDE_REAR)
    assert len({v.session_id for v in views}) == 1
    assert len({v.seed for v in views}) == 3
    assert [v.is_main for v in views if v.angle == common_pb2.ANGLE_FRONT] == [True]
    assert sum(v.is_main for v in views) == 1
    assert {v.index for v in views} == {0, 1, 2}
    assert all(v.total == 3 for v in views)
    for view in views:
        assert view.WhichOneof("result") == "image"
        assert view.image.mime_type == "image/png"
        with Image.open(io.BytesIO(view.image.data)) as decoded:
            assert decoded.size == (1024, 1024)
        assert view.metadata.model == "MockGenerator v1"
        assert view.metadata.size == "1024x1024"
        assert "Same vehicle across all angles" in view.prompt
        assert view.session_id in view.prompt
    front = next(v for v in views if v.angle == common_pb2.ANGLE_FRONT)
    assert "Renault logo on the front grille" in front.prompt


async def test_the_same_subject_gets_the_same_session_and_seeds_every_time(stub: Stub) -> None:
    first = {
        v.angle: (v.session_id, v.seed)
        for v in await _angles(stub, subject=CLIO, angles=FRONT_SIDE_REAR)
    }
    spelled = common_pb2.Subject(
        brand=" renault ", model="CLIO", year=2019, color="Blue", body_type="Hatchback"
    )
    second = {
        v.angle: (v.session_id, v.seed)
        for v in await _angles(stub, subject=spelled, angles=FRONT_SIDE_REAR)
    }
    assert first == second
    other = await _angles(
        stub,
        subject=common_pb2.Subject(brand="Renault", model="Clio", color="red"),
        angles=FRONT_SIDE_REAR,
    )
    assert {v.session_id for v in other}.isdisjoint({s for s, _ in first.values()})


async def test_a_callers_session_and_seed_win(stub: Stub) -> None:
    mine = await _angles(
        stub, subject=CLIO, angles=FRONT_SIDE_REAR[:2], session_id="my-set", seed=7
    )
    assert {v.session_id for v in mine} == {"my-set"}
    again = await _angles(
        stub, subject=CLIO, angles=FRONT_SIDE_REAR[:2], session_id="other", seed=7
    )
    assert {v.angle: v.seed for v in mine} == {v.angle: v.seed for v in again}


async def test_another_take_keeps_the_session_and_changes_every_seed_and_pixel(
    stub: Stub,
) -> None:
    def by_angle(
        views: list[image_service_pb2.GenerateAnglesResponse],
    ) -> dict[int, tuple[str, int, bytes]]:
        return {v.angle: (v.session_id, v.seed, v.image.data) for v in views}

    first = by_angle(
        await _angles(stub, subject=CLIO, angles=FRONT_SIDE_REAR, width=256, height=256)
    )
    takes = [
        by_angle(
            await _angles(
                stub, subject=CLIO, angles=FRONT_SIDE_REAR, width=256, height=256, variation=n
            )
        )
        for n in (1, 2)
    ]
    again = by_angle(
        await _angles(
            stub, subject=CLIO, angles=FRONT_SIDE_REAR, width=256, height=256, variation=0
        )
    )
    assert again == first  # take 0 is the first take, reproducibly
    for take in takes:
        assert {s for s, _, _ in take.values()} == {s for s, _, _ in first.values()}  # one car
        for angle in FRONT_SIDE_REAR:
            assert take[angle][1] != first[angle][1]  # new seeds
            assert take[angle][2] != first[angle][2]  # new pixels
    assert {a: t[1] for a, t in takes[0].items()} != {a: t[1] for a, t in takes[1].items()}
    assert all(takes[0][a][2] != takes[1][a][2] for a in FRONT_SIDE_REAR)


async def test_generate_takes_vary_and_an_explicit_seed_reproduces_bytes(stub: Stub) -> None:
    async def one(*, seed: int | None = None, variation: int = 0) -> common_pb2.Image:
        request = image_service_pb2.GenerateRequest(
            prompt="a lighthouse on a cliff at dusk",
            width=256,
            height=256,
            seed=seed,
            variation=variation,
        )
        return (await stub.Generate(request)).image

    first, second = await one(), await one(variation=1)
    assert second.seed != first.seed
    assert second.data != first.data
    replay = await one(seed=second.seed)
    assert replay.seed == second.seed
    assert replay.data == second.data  # a result is reproduced from its seed


async def test_another_process_derives_the_same_seeds_and_bytes(stub: Stub) -> None:
    views = await _angles(stub, subject=CLIO, angles=FRONT_SIDE_REAR, width=256, height=256)
    ours = {
        common_pb2.Angle.Name(v.angle): [v.seed, hashlib.sha256(v.image.data).hexdigest()]
        for v in views
    }
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.image_svc.other_process"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ours


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"angles": FRONT_SIDE_REAR}, "subject"),
        ({"subject": CLIO}, "angles"),
        ({"subject": CLIO, "angles": [1, 3, 1]}, "angles[2]"),
        ({"subject": CLIO, "angles": [1, 99]}, "angles[1]"),
        ({"subject": CLIO, "angles": [1], "width": 10}, "width"),
        ({"subject": CLIO, "angles": [1], "height": 5000}, "height"),
        ({"subject": CLIO, "angles": [1], "format": 42}, "format"),
        ({"subject": CLIO, "angles": [1], "session_id": "no spaces please"}, "session_id"),
        ({"subject": CLIO, "angles": [1], "consistency_mode": 9}, "consistency_mode"),
        ({"subject": common_pb2.Subject(brand="Ford", year=3000), "angles": [1]}, "subject.year"),
    ],
)
async def test_bad_angle_requests_name_the_field(
    stub: Stub, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _angles(stub, **fields)
    got = details_of(caught.value)
    assert (got.code, got.field) == (grpc.StatusCode.INVALID_ARGUMENT, field)


async def test_generate_returns_the_seed_shape(stub: Stub) -> None:
    request = image_service_pb2.GenerateRequest(
        prompt="cute anime girl standing at beach, golden sunset, soft lighting",
        style="anime",
        width=512,
        height=384,
        format=common_pb2.IMAGE_FORMAT_JPEG,
        request_id="req-1",
    )
    first = await stub.Generate(request)
    again = await stub.Generate(request)
    assert first.request_id == "req-1"
    assert first.image.mime_type == "image/jpeg"
    assert (first.image.width, first.image.height) == (512, 384)
    assert first.metadata.model == "MockGenerator v1"
    assert first.metadata.size == "512x384"
    assert first.metadata.processing_time.ToNanoseconds() > 0
    assert first.image.data == again.image.data
    assert first.image.seed == again.image.seed
    seeded = await stub.Generate(
        image_service_pb2.GenerateRequest(prompt=request.prompt, seed=1, width=64, height=64)
    )
    assert seeded.image.seed == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Generate(image_service_pb2.GenerateRequest(prompt="   "))
    assert details_of(caught.value).field == "prompt"


async def test_a_client_that_goes_away_stops_the_stream(stub: Stub) -> None:
    call = stub.GenerateAngles(
        image_service_pb2.GenerateAnglesRequest(
            subject=CLIO, angles=list(common_pb2.Angle.values())[1:], width=128, height=128
        )
    )
    first = await call.read()
    assert isinstance(first, image_service_pb2.GenerateAnglesResponse)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call.read()
    assert call.cancelled()


def _png(size: tuple[int, int] = (96, 64)) -> bytes:
    image = Image.new("RGB", size, (40, 120, 220))
    for x in range(30, 66):
        for y in range(16, 48):
            image.putpixel((x, y), (230, 60, 40))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("operation", "mode"),
    [
        (
            {
                "style_transfer": image_service_pb2.StyleTransfer(
                    style=image_service_pb2.TRANSFER_STYLE_PENCIL
                )
            },
            "RGB",
        ),
        (
            {
                "background_edit": image_service_pb2.BackgroundEdit(
                    action=image_service_pb2.BACKGROUND_ACTION_REMOVE
                )
            },
            "RGBA",
        ),
        (
            {
                "background_edit": image_service_pb2.BackgroundEdit(
                    action=image_service_pb2.BACKGROUND_ACTION_REPLACE_SCENE, scene="sunset beach"
                )
            },
            "RGB",
        ),
        ({"enhancement": image_service_pb2.Enhancement(scale=2, sharpen=True)}, "RGB"),
    ],
)
async def test_edits_read_the_input_from_the_media_service(
    stub: Stub, media_url: str, operation: dict[str, object], mode: str
) -> None:
    async with MediaClient(media_url) as media:
        url = await media.upload(_png(), filename="in.png", mime_type="image/png")
    reply = await stub.EditImage(image_service_pb2.EditImageRequest(image_url=url, **operation))  # type: ignore[arg-type]
    with Image.open(io.BytesIO(reply.image.data)) as edited:
        assert edited.mode == mode
        expected = (192, 128) if "enhancement" in operation else (96, 64)
        assert edited.size == expected == (reply.image.width, reply.image.height)
    assert reply.metadata.model == "MockEditor v1"


async def test_edit_inputs_are_guarded(stub: Stub, media_url: str) -> None:
    async def edit(url: str, **op: object) -> grpc.aio.AioRpcError:
        request = image_service_pb2.EditImageRequest(
            image_url=url,
            enhancement=image_service_pb2.Enhancement(sharpen=True),
            **op,  # type: ignore[arg-type]
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.EditImage(request)
        return caught.value

    for url in ("http://169.254.169.254/latest", "file:///etc/passwd", "https://example.com/a.png"):
        got = details_of(await edit(url))
        assert (got.code, got.field) == (grpc.StatusCode.INVALID_ARGUMENT, "image_url")
    missing = details_of(await edit(media_url + "/api/v1/files/" + "a" * 64 + ".png"))
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "INPUT_IMAGE_NOT_FOUND")
    async with MediaClient(media_url) as media:
        text = await media.upload(b"not an image at all", filename="x.txt", mime_type="text/plain")
        big = await media.upload(
            _png((1200, 1200)) + b"\0" * 400_000, filename="b.png", mime_type="image/png"
        )
    unreadable = details_of(await edit(text))
    assert (unreadable.code, unreadable.reason) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INPUT_IMAGE_UNREADABLE",
    )
    too_big = details_of(await edit(big))
    assert (too_big.code, too_big.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "IMAGE_TOO_LARGE",
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.EditImage(image_service_pb2.EditImageRequest(image_url=text))
    assert details_of(caught.value).field == "operation"


@pytest.mark.parametrize("size", [(1, 1), (8, 200), (200, 8), (4000, 9)])
async def test_a_scene_goes_behind_a_picture_of_any_size(
    stub: Stub, media_url: str, size: tuple[int, int]
) -> None:
    # The renderer draws 16..2048 px; a smaller (or longer) picture used to end INTERNAL.
    raw = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(raw, "PNG")
    async with MediaClient(media_url) as media:
        url = await media.upload(raw.getvalue(), filename="small.png", mime_type="image/png")
    reply = await stub.EditImage(
        image_service_pb2.EditImageRequest(
            image_url=url,
            background_edit=image_service_pb2.BackgroundEdit(
                action=image_service_pb2.BACKGROUND_ACTION_REPLACE_SCENE, scene="a sunny beach"
            ),
        )
    )
    assert (reply.image.width, reply.image.height) == size


async def test_a_truncated_image_is_invalid_argument(stub: Stub, media_url: str) -> None:
    whole = _png((200, 150))
    async with MediaClient(media_url) as media:
        cut = whole[: len(whole) // 2]
        url = await media.upload(cut, filename="cut.png", mime_type="image/png")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.EditImage(
            image_service_pb2.EditImageRequest(
                image_url=url,
                style_transfer=image_service_pb2.StyleTransfer(
                    style=image_service_pb2.TRANSFER_STYLE_ANIME
                ),
            )
        )
    got = details_of(caught.value)
    assert (got.code, got.field) == (grpc.StatusCode.INVALID_ARGUMENT, "image_url")
    assert "truncated" not in got.message  # Pillow's words stay in the log


async def test_a_media_url_with_line_breaks_or_of_100_kb_is_refused(
    stub: Stub, media_url: str
) -> None:
    for url in (
        media_url + "/api/v1/files/a.png\r\nX-Injected: 1",
        media_url + "/api/v1/files/" + "a" * 100_000 + ".png",
        media_url + "/api/v1/files/a b.png",
    ):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.EditImage(
                image_service_pb2.EditImageRequest(
                    image_url=url, enhancement=image_service_pb2.Enhancement(sharpen=True)
                )
            )
        got = details_of(caught.value)
        assert (got.code, got.field) == (grpc.StatusCode.INVALID_ARGUMENT, "image_url"), url


async def test_configured_providers_come_first_and_the_mock_catches_their_failures(
    start_server: StartServer, channel_to: ChannelTo
) -> None:
    fake = FakePollinations(POLLINATIONS_KEY)
    async with fake.serve() as url:
        settings = Settings(
            render_mode="thread",
            providers="pollinations",
            pollinations_base_url=url,
            pollinations_api_key=SecretStr(POLLINATIONS_KEY),
        )
        server = await start_server(app.build, settings)
        stub = image_service_pb2_grpc.ImageServiceStub(channel_to(server))
        request = image_service_pb2.GenerateRequest(
            prompt="a lighthouse at night", width=256, height=256
        )
        answered = await stub.Generate(request)
        assert answered.metadata.provider == "pollinations"
        assert answered.image.seed_reproducible  # flux honours the seed
        assert answered.image.mime_type == "image/png"  # the provider's JPEG, converted
        with Image.open(io.BytesIO(answered.image.data)) as decoded:
            assert decoded.format == "PNG"
        fake.mode = "unavailable"
        fallback = await stub.Generate(request)
        assert fallback.metadata.provider == "mock"
        assert list(fallback.metadata.fallbacks) == ["pollinations: POLLINATIONS_UNAVAILABLE"]


async def test_a_provider_without_its_key_stops_start_up() -> None:
    async with contextlib.AsyncExitStack() as stack:
        with pytest.raises(ValueError, match="OPENAI_API_KEY"):
            await app.build(Settings(render_mode="thread", providers="openai"), stack)


async def test_a_gemini_image_says_its_seed_is_not_reproducible(
    start_server: StartServer, channel_to: ChannelTo
) -> None:
    fake = FakeGemini("AIza-test")
    async with fake.serve() as url:
        settings = Settings(
            render_mode="thread",
            providers="gemini",
            gemini_base_url=url,
            gemini_api_key=SecretStr("AIza-test"),
        )
        stub = image_service_pb2_grpc.ImageServiceStub(
            channel_to(await start_server(app.build, settings))
        )
        request = image_service_pb2.GenerateRequest(prompt="a kite", width=256, height=256)
        drawn = await stub.Generate(request)
        fake.mode = "unavailable"
        fallback = await stub.Generate(request)
    assert (drawn.metadata.provider, drawn.image.seed_reproducible) == ("gemini", False)
    assert (fallback.metadata.provider, fallback.image.seed_reproducible) == ("mock", True)


async def test_a_retired_model_in_the_settings_stops_start_up() -> None:
    settings = Settings(
        render_mode="thread",
        providers="openai",
        openai_api_key=SecretStr("sk-test"),
        openai_image_model="gpt-image-1",
    )
    async with contextlib.AsyncExitStack() as stack:
        with pytest.raises(ValueError, match="'gpt-image-1' is not in the capability table"):
            await app.build(settings, stack)


async def test_pollinations_without_its_key_is_off_and_says_so() -> None:
    settings = Settings(render_mode="thread", providers="pollinations,")
    async with contextlib.AsyncExitStack() as stack:
        with capture_logs() as logs:
            providers = app.configured_providers(settings, stack)
    assert providers == []
    [line] = [entry for entry in logs if entry["event"] == "provider off"]
    assert line["provider"] == "pollinations"
    assert "POLLINATIONS_API_KEY" in line["reason"]


async def test_a_dead_provider_is_skipped_once_its_circuit_opens(
    start_server: StartServer, channel_to: ChannelTo
) -> None:
    fake = FakePollinations(POLLINATIONS_KEY)
    fake.mode = "unavailable"
    async with fake.serve() as url:
        settings = Settings(
            render_mode="thread",
            providers="pollinations",
            pollinations_base_url=url,
            pollinations_api_key=SecretStr(POLLINATIONS_KEY),
        )
        server = await start_server(app.build, settings)
        stub = image_service_pb2_grpc.ImageServiceStub(channel_to(server))
        request = image_service_pb2.GenerateRequest(prompt="a kite", width=64, height=64)
        answers = [await stub.Generate(request) for _ in range(7)]
    assert {a.metadata.provider for a in answers} == {"mock"}
    assert len(fake.requests) == 5  # the breaker opened after five consecutive outages
    assert list(answers[-1].metadata.fallbacks) == ["pollinations: CIRCUIT_OPEN"]


async def test_a_jittered_mock_streams_the_views_one_by_one_in_latency_order(
    start_server: StartServer, channel_to: ChannelTo
) -> None:
    settings = Settings(render_mode="thread", mock_latency=0.6, mock_jitter=0.8)
    stub = image_service_pb2_grpc.ImageServiceStub(
        channel_to(await start_server(app.build, settings))
    )
    started = time.perf_counter()
    arrived: dict[int, float] = {}
    seeds: dict[int, int] = {}
    request = image_service_pb2.GenerateAnglesRequest(
        subject=CLIO, angles=FRONT_SIDE_REAR, width=96, height=64
    )
    async for response in stub.GenerateAngles(request):
        arrived[response.angle] = time.perf_counter() - started
        seeds[response.angle] = response.seed

    waits = {angle: paced(seed, 0.6, 0.8) for angle, seed in seeds.items()}
    assert all(0.12 <= wait <= 1.08 for wait in waits.values())
    by_wait = sorted(waits, key=waits.__getitem__)
    gaps = [waits[b] - waits[a] for a, b in itertools.pairwise(by_wait)]
    assert min(gaps) > 0.05  # three clearly different waits (the Clio's seeds: 0.33, 0.90, 0.99)...
    assert sorted(arrived, key=arrived.__getitem__) == by_wait  # ...so three arrivals in order
    for angle, wait in waits.items():
        assert arrived[angle] >= wait
    assert paced(7, 0.6, 0.0) == 0.6  # no jitter: every image waits the latency
