"""UploadImage over a real port, storing on the real Media stand-in (served on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import httpx
import pytest
from PIL import ExifTags, Image, ImageChops, ImageStat, PngImagePlugin
from pymongo import AsyncMongoClient

from conversation_svc.uploads import ImageRefused, check_image, safe_filename
from devstack.media_server import create_app
from photofun.v1 import conversation_service_pb2 as pb
from tests.conversation_svc.service import StartStub, auth, expect
from tests.http_servers import serve_app

if TYPE_CHECKING:
    from tests.conversation_svc.service import Stub

XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
    b"<exif:GPSLatitude>48,51.4N</exif:GPSLatitude></rdf:Description></rdf:RDF></x:xmpmeta>"
)


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


def drawing(size: tuple[int, int] = (64, 32), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue, so a rotation shows."""
    image = Image.new(mode, size, (220, 20, 20))
    image.paste((20, 20, 220), (size[0] // 2, 0, size[0], size[1]))
    return image


def photo(size: tuple[int, int] = (256, 192)) -> Image.Image:
    """Fine detail, which a careless re-encode blurs."""
    return Image.effect_noise(size, 60).convert("RGB")


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def phone_exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhotoPhone"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    return exif


def change(a: Image.Image, b: Image.Image) -> float:
    """The largest mean difference of a channel (0: the same pixels)."""
    return max(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean)


async def upload(stub: Stub, data: bytes, filename: str = "photo.png") -> pb.UploadImageResponse:
    request = pb.UploadImageRequest(data=data, filename=filename)
    return await stub.UploadImage(request, metadata=auth("alice"))


async def fetch(url: str) -> bytes:
    async with httpx.AsyncClient() as http:
        response = await http.get(url)
        response.raise_for_status()
        return response.content


@pytest.mark.parametrize(
    ("fmt", "options", "mime", "most"),
    [
        ("PNG", {}, "image/png", 0.0),
        ("JPEG", {"quality": 92}, "image/jpeg", 0.5),
        ("WEBP", {"lossless": True}, "image/webp", 0.0),
        # a large colour profile comes before the bitstream in the extended format
        ("WEBP", {"lossless": True, "icc_profile": bytes(64_000)}, "image/webp", 0.0),
        ("WEBP", {"quality": 80}, "image/webp", 4.0),
    ],
    ids=["png", "jpeg", "webp-lossless", "webp-lossless-icc", "webp-lossy"],
)
async def test_a_plain_picture_is_stored_with_its_pixels(
    uploads: Stub, media: Media, fmt: str, options: dict[str, Any], mime: str, most: float
) -> None:
    original = photo()
    data = encode(original, fmt, **options)

    reply = await upload(uploads, data)

    assert reply.image_url.startswith(media.url + "/api/v1/files/")
    assert (reply.mime_type, reply.width, reply.height) == (mime, 256, 192)
    stored = await fetch(reply.image_url)
    assert reply.size_bytes == len(stored)
    assert change(Image.open(io.BytesIO(data)), Image.open(io.BytesIO(stored))) <= most


async def test_a_photos_exif_and_gps_are_dropped_and_its_orientation_applied(
    uploads: Stub,
) -> None:
    # Orientation 6: the camera was turned; viewers rotate the picture 90° clockwise.
    data = encode(drawing(), "JPEG", exif=phone_exif(6))

    reply = await upload(uploads, data, "IMG_0001.JPG")

    stored_bytes = await fetch(reply.image_url)
    stored = Image.open(io.BytesIO(stored_bytes))
    assert not stored.getexif()
    assert b"PhotoPhone" not in stored_bytes
    assert stored.size == (32, 64) == (reply.width, reply.height)
    # Rotated clockwise, the red left half is now on top.
    rgb = stored.convert("RGB")
    assert rgb.getpixel((16, 8)) == pytest.approx((220, 20, 20), abs=12)
    assert rgb.getpixel((16, 56)) == pytest.approx((20, 20, 220), abs=12)


@pytest.mark.parametrize("orientation", [1, 6])
async def test_a_jpeg_keeps_its_quality_upright_or_turned(uploads: Stub, orientation: int) -> None:
    original = photo()
    data = encode(original, "JPEG", quality=92, exif=phone_exif(orientation))

    reply = await upload(uploads, data)

    stored = Image.open(io.BytesIO(await fetch(reply.image_url)))
    upright = original.transpose(Image.Transpose.ROTATE_270) if orientation == 6 else original
    assert stored.size == upright.size
    decoded = Image.open(io.BytesIO(data))
    decoded_upright = decoded.transpose(Image.Transpose.ROTATE_270) if orientation == 6 else decoded
    # Its own quantisation tables: next to no change (quality 75 would differ by ~7).
    assert change(decoded_upright, stored) < 0.5
    assert reply.size_bytes < len(data) * 1.1


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("JPEG", encode(photo(), "JPEG", comment=b"secret: the back garden", xmp=XMP)),
        ("PNG", b""),  # filled below: text chunks need a PngInfo
        ("WEBP", encode(photo(), "WEBP", lossless=True, xmp=XMP)),
    ],
    ids=["jpeg-comment-xmp", "png-text-xmp", "webp-xmp"],
)
async def test_xmp_comments_and_text_go_too(uploads: Stub, fmt: str, data: bytes) -> None:
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "secret: the back garden")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        data = encode(photo(), "PNG", pnginfo=info)
    assert b"GPSLatitude" in data

    reply = await upload(uploads, data)

    stored = await fetch(reply.image_url)
    assert b"GPSLatitude" not in stored
    assert b"secret" not in stored


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
async def test_bytes_after_the_picture_are_not_stored(uploads: Stub, fmt: str) -> None:
    tail = b"<html><script>alert(document.cookie)</script></html>"

    reply = await upload(uploads, encode(drawing(), fmt) + tail)

    assert b"<script>" not in await fetch(reply.image_url)


@pytest.mark.parametrize(
    ("data", "words", "reason"),
    [
        (b"", "is required", "INVALID_ARGUMENT"),
        (b"hello, this is text", "not a PNG, JPEG or WebP picture", "NOT_AN_IMAGE"),
        (encode(drawing(), "GIF"), "not a PNG, JPEG or WebP picture", "NOT_AN_IMAGE"),
        (encode(photo(), "PNG")[:-4000], "damaged or incomplete", "NOT_AN_IMAGE"),
        (
            encode(drawing(), "WEBP", save_all=True, append_images=[photo((64, 32))], duration=99),
            "the picture is animated",
            "ANIMATED_IMAGE",
        ),
    ],
    ids=["empty", "text", "gif", "truncated", "animated"],
)
async def test_what_is_not_a_whole_still_png_jpeg_or_webp_is_refused_and_not_stored(
    uploads: Stub, media: Media, data: bytes, words: str, reason: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await upload(uploads, data)

    await expect(upload(uploads, data), grpc.StatusCode.INVALID_ARGUMENT, reason=reason)
    details = caught.value.details() or ""
    assert details.startswith("data: ")
    assert words in details
    assert media.files() == []


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's "corrupt EXIF" notes
def test_a_damaged_exif_block_never_breaks_the_service() -> None:
    # Phones and editors write odd EXIF; the block is thrown away, so its damage must not
    # turn into INTERNAL. Each variant is refused in words or stored without it.
    data = bytearray(encode(photo((64, 48)), "JPEG", exif=phone_exif(6)))
    start = data.index(b"Exif\0\0")
    rng = random.Random(7)
    taken = 0
    for _ in range(300):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 6)):
            damaged[rng.randrange(start + 6, start + 120)] = rng.randrange(256)
        try:
            checked = check_image(bytes(damaged), 1_000_000)
        except ImageRefused:
            continue
        assert not Image.open(io.BytesIO(checked.data)).getexif()
        taken += 1
    assert taken > 290


async def test_too_many_bytes_or_pixels_are_refused_as_too_large(
    uploads: Stub, media: Media
) -> None:
    big = encode(Image.effect_noise((400, 400), 90).convert("RGB"), "PNG")
    assert len(big) > 200_000
    await expect(
        upload(uploads, big),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="data",
        reason="IMAGE_TOO_LARGE",
    )
    wide = encode(drawing((2000, 600)), "PNG")  # 1.2 MP, small file: the pixel limit speaks
    await expect(
        upload(uploads, wide),
        grpc.StatusCode.INVALID_ARGUMENT,
        field="data",
        reason="IMAGE_TOO_LARGE",
    )
    assert media.files() == []


async def test_modes_and_transparency_survive_the_rebuild(uploads: Stub) -> None:
    for original in (
        drawing(mode="RGBA"),
        drawing().convert("P", palette=Image.Palette.ADAPTIVE, colors=4),
        drawing().convert("LA"),
        drawing().convert("I;16"),
    ):
        if original.mode in ("RGBA", "LA"):
            original.putpixel((0, 0), (0, 0) if original.mode == "LA" else (0, 0, 0, 0))
        reply = await upload(uploads, encode(original, "PNG", exif=phone_exif(1)))
        stored: Image.Image = Image.open(io.BytesIO(await fetch(reply.image_url)))
        assert stored.mode == original.mode
        expected = original
        if original.mode == "P":  # the palette may be stored in another order: compare colours
            stored, expected = stored.convert("RGBA"), original.convert("RGBA")
        assert stored.tobytes() == expected.tobytes()


async def test_a_cameras_multi_picture_jpeg_is_taken_as_a_jpeg(uploads: Stub) -> None:
    # Many phones write .jpg files that carry a second picture (MPO); they are JPEGs to anyone.
    first, second = drawing((40, 20)), Image.new("RGB", (40, 20), "blue")
    data = encode(first, "MPO", save_all=True, append_images=[second], exif=phone_exif(1))

    reply = await upload(uploads, data, "DSC_0001.JPG")

    assert reply.mime_type == "image/jpeg"
    assert reply.image_url.endswith(".jpg")
    stored = Image.open(io.BytesIO(await fetch(reply.image_url)))
    assert (stored.format, stored.size) == ("JPEG", (40, 20))
    assert not stored.getexif()


async def test_uploads_need_a_token(uploads: Stub) -> None:
    await expect(
        uploads.UploadImage(pb.UploadImageRequest(data=encode(drawing(), "PNG"))),
        grpc.StatusCode.UNAUTHENTICATED,
    )


async def test_a_media_service_that_is_down_is_unavailable(
    start_stub: StartStub, mongo_uri: str, database: str
) -> None:
    stub = await start_stub(media_service_url="http://127.0.0.1:9")  # discard: nothing listens

    await expect(
        upload(stub, encode(drawing(), "PNG")),
        grpc.StatusCode.UNAVAILABLE,
        reason="MEDIA_UNAVAILABLE",
    )
    assert await upload_records(mongo_uri, database) == []  # the reservation went again


async def upload_records(mongo_uri: str, database: str) -> list[dict[str, Any]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_uri)
    try:
        return await client[database]["uploads"].find({}, {"_id": 0}).to_list()
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("../../etc/passwd", "passwd.jpg"),
        ("C:\\Users\\me\\Desktop\\beach photo.JPG", "beach photo.jpg"),
        ("ảnh biển.jpeg", "ảnh biển.jpg"),
        ("фото з моря.png", "фото з моря.jpg"),
        ("", "upload.jpg"),
        ("<script>.png", "script.jpg"),
        ("evil\u202egpj.exe", "evilgpj.jpg"),
        ("...", "upload.jpg"),
    ],
)
def test_file_names_keep_only_their_last_plain_part(name: str, expected: str) -> None:
    assert safe_filename(name, "jpg") == expected


async def test_racing_uploads_get_exactly_the_hour_s_allowance(
    start_stub: StartStub, media: Media
) -> None:
    stub = await start_stub(media_service_url=media.url, max_uploads_per_hour=4)
    pictures = [encode(drawing((8 + i, 8)), "PNG") for i in range(12)]
    answers = await asyncio.gather(*(upload(stub, p) for p in pictures), return_exceptions=True)
    refused = [a for a in answers if isinstance(a, grpc.aio.AioRpcError)]
    # Not fewer (a refused upload's record never counts against one before it), not more.
    assert len(answers) - len(refused) == 4
    assert {a.code() for a in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert len(media.files()) == 4


async def test_each_user_may_store_so_many_pictures_an_hour(
    start_stub: StartStub, media: Media, mongo_uri: str, database: str
) -> None:
    stub = await start_stub(media_service_url=media.url, max_uploads_per_hour=2)
    pictures = [encode(drawing((8 + i, 8)), "PNG") for i in range(4)]

    # Refused pictures are not stored, so they do not count.
    for _ in range(3):
        await expect(upload(stub, b"not a picture"), grpc.StatusCode.INVALID_ARGUMENT)
    first, second = [await upload(stub, data) for data in pictures[:2]]
    await expect(
        upload(stub, pictures[2]),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        reason="UPLOAD_QUOTA_EXCEEDED",
    )
    other = await stub.UploadImage(
        pb.UploadImageRequest(data=pictures[3]), metadata=auth("bob")
    )  # someone else's quota is their own

    assert len(media.files()) == 3
    records = await upload_records(mongo_uri, database)
    assert sorted((r["owner"], r["status"], r["url"]) for r in records) == sorted(
        [
            ("alice", "STORED", first.image_url),
            ("alice", "STORED", second.image_url),
            ("bob", "STORED", other.image_url),
        ]
    )
    assert {r["size_bytes"] for r in records if r["url"] == first.image_url} == {first.size_bytes}
