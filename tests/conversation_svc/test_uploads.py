"""UploadImage over a real port, storing on the real Media stand-in (served on 127.0.0.1)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import httpx
import pytest
from PIL import ExifTags, Image, ImageChops, ImageStat

from conversation_svc.uploads import safe_filename
from devstack.media_server import create_app
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import StartStub, auth, expect
from tests.http_servers import serve_app

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub


@dataclass
class Media:
    url: str
    root: Path

    def files(self) -> list[Path]:
        return sorted(self.root.iterdir())


@pytest.fixture
async def media(tmp_path: Path) -> AsyncIterator[Media]:
    root = tmp_path / "media"
    async with serve_app(create_app(root)) as url:
        yield Media(url, root)


@pytest.fixture
async def uploads(start_stub: StartStub, media: Media) -> Stub:
    return await start_stub(
        media_service_url=media.url, max_upload_bytes=200_000, max_upload_pixels=1_000_000
    )


def picture(fmt: str, size: tuple[int, int] = (64, 32), exif: Image.Exif | None = None) -> bytes:
    """A picture whose left half is red and right half blue, so rotation shows."""
    image = Image.new("RGB", size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    out = io.BytesIO()
    image.save(out, fmt, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def phone_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhotoPhone"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif


async def upload(stub: Stub, data: bytes, filename: str = "photo.png") -> pb.UploadImageResponse:
    request = pb.UploadImageRequest(data=data, filename=filename)
    return await stub.UploadImage(request, metadata=auth("alice"))


async def fetch(url: str) -> bytes:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        response.raise_for_status()
        return response.content


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
async def test_an_image_without_metadata_is_stored_byte_for_byte(
    uploads: Stub, media: Media, fmt: str, mime: str
) -> None:
    data = picture(fmt)

    reply = await upload(uploads, data)

    assert reply.image_url.startswith(media.url + "/api/v1/files/")
    assert (reply.mime_type, reply.width, reply.height) == (mime, 64, 32)
    assert reply.size_bytes == len(data)
    assert await fetch(reply.image_url) == data


async def test_a_photos_exif_and_gps_are_dropped_and_its_orientation_applied(
    uploads: Stub,
) -> None:
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    data = picture("JPEG", exif=phone_exif(6))

    reply = await upload(uploads, data, "IMG_0001.JPG")

    stored = Image.open(io.BytesIO(await fetch(reply.image_url)))
    assert not stored.getexif()
    assert b"PhotoPhone" not in await fetch(reply.image_url)
    assert stored.size == (32, 64) == (reply.width, reply.height)
    # Rotated clockwise, the red left half is now on top.
    rgb = stored.convert("RGB")
    assert rgb.getpixel((16, 8)) == pytest.approx((220, 20, 20), abs=12)
    assert rgb.getpixel((16, 56)) == pytest.approx((20, 20, 220), abs=12)


async def test_an_upright_jpeg_loses_its_exif_but_keeps_its_quality(uploads: Stub) -> None:
    photo = Image.effect_noise((256, 256), 60).convert("RGB")  # detail that re-encoding blurs
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=92, exif=phone_exif(1))
    original = out.getvalue()

    reply = await upload(uploads, original)

    stored = Image.open(io.BytesIO(await fetch(reply.image_url)))
    assert not stored.getexif()
    assert stored.size == (256, 256)
    # The quantisation tables were kept: next to no change (quality 75 would differ by ~7).
    before = Image.open(io.BytesIO(original)).convert("RGB")
    change = ImageStat.Stat(ImageChops.difference(before, stored.convert("RGB"))).mean
    assert max(change) < 0.5
    assert abs(reply.size_bytes - len(original)) < len(original) * 0.05


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "is required"),
        (b"hello, this is text", "not an image"),
        (picture("GIF"), "GIF images are not accepted"),
        (picture("PNG")[:-40], "could not be decoded"),
    ],
    ids=["empty", "text", "gif", "truncated"],
)
async def test_what_is_not_a_whole_png_jpeg_or_webp_is_refused_and_not_stored(
    uploads: Stub, media: Media, data: bytes, words: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await upload(uploads, data)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("data: ")
    assert words in (caught.value.details() or "")
    assert media.files() == []


async def test_too_many_bytes_or_pixels_are_refused_as_too_large(
    uploads: Stub, media: Media
) -> None:
    noise = Image.effect_noise((400, 400), 90).convert("RGB")
    big = io.BytesIO()
    noise.save(big, "PNG")
    assert len(big.getvalue()) > 200_000
    await expect(
        upload(uploads, big.getvalue()),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="data",
        reason="IMAGE_TOO_LARGE",
    )
    wide = picture("PNG", size=(2000, 600))  # 1.2 MP, small file: the pixel limit speaks
    await expect(
        upload(uploads, wide),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="data",
        reason="IMAGE_TOO_LARGE",
    )
    assert media.files() == []


async def test_uploads_need_a_token(uploads: Stub) -> None:
    await expect(
        uploads.UploadImage(pb.UploadImageRequest(data=picture("PNG"))),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_a_media_service_that_is_down_is_unavailable(start_stub: StartStub) -> None:
    stub = await start_stub(media_service_url="http://127.0.0.1:9")  # discard: nothing listens

    await expect(
        upload(stub, picture("PNG")), grpc.StatusCode.UNAVAILABLE, reason="MEDIA_UNAVAILABLE"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("../../etc/passwd", "passwd.jpg"),
        ("C:\\Users\\me\\Desktop\\beach photo.JPG", "beach photo.jpg"),
        ("", "upload.jpg"),
        ("<script>.png", "script.jpg"),
        ("...", "upload.jpg"),
    ],
)
def test_file_names_keep_only_their_last_plain_part(name: str, expected: str) -> None:
    assert safe_filename(name, "jpg") == expected


async def test_a_cameras_multi_picture_jpeg_is_taken_as_a_jpeg(uploads: Stub) -> None:
    # Many phones write .jpg files that carry a second picture (MPO); they are JPEGs to anyone.
    first, second = Image.new("RGB", (40, 20), (200, 0, 0)), Image.new("RGB", (40, 20), "blue")
    out = io.BytesIO()
    first.save(out, "MPO", save_all=True, append_images=[second], exif=phone_exif(1))

    reply = await upload(uploads, out.getvalue(), "DSC_0001.JPG")

    assert reply.mime_type == "image/jpeg"
    assert reply.image_url.endswith(".jpg")
    stored = Image.open(io.BytesIO(await fetch(reply.image_url)))
    assert (stored.format, stored.size) == ("JPEG", (40, 20))
    assert not stored.getexif()
