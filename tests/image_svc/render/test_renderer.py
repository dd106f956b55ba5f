"""The mock renderer: deterministic pixels, one car from every angle, scenes from prompts."""

from __future__ import annotations

import colorsys
import dataclasses
import functools
import hashlib
import os
import subprocess
import sys
from collections import Counter

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat

from image_svc.encoding import encode
from image_svc.render import RenderSubject, render
from image_svc.render.subject import BODY_TYPES, parse_color
from image_svc.render.vehicle import build_car, plate_text

CLIO = RenderSubject(brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback")
VIEWS = {
    "front": (0.0, 5.0),
    "front_three_quarter": (45.0, 5.0),
    "side": (90.0, 5.0),
    "rear_three_quarter": (135.0, 5.0),
    "rear": (180.0, 5.0),
    "rear_three_quarter_right": (225.0, 5.0),
    "side_right": (270.0, 5.0),
    "front_three_quarter_right": (315.0, 5.0),
    "top": (0.0, 90.0),
}


def draw(
    subject: RenderSubject = CLIO,
    view: str = "front",
    *,
    session: str = "clio-demo",
    seed: int = 1,
    size: tuple[int, int] = (192, 192),
    style: str = "",
) -> Image.Image:
    azimuth, elevation = VIEWS[view]
    return render(
        subject,
        azimuth=azimuth,
        elevation=elevation,
        session_id=session,
        seed=seed,
        width=size[0],
        height=size[1],
        style=style,
    )


def digest(image: Image.Image) -> str:
    return hashlib.sha256(image.tobytes()).hexdigest()


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Average absolute difference per channel, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def dominant_hue(image: Image.Image) -> int:
    """The most common hue (in 12 buckets) among clearly coloured pixels: the paint."""
    data = image.convert("RGB").resize((96, 96), Image.Resampling.NEAREST).tobytes()
    buckets: Counter[int] = Counter()
    for i in range(0, len(data), 3):
        h, s, v = colorsys.rgb_to_hsv(data[i] / 255, data[i + 1] / 255, data[i + 2] / 255)
        if s > 0.45 and v > 0.25:
            buckets[int(h * 12) % 12] += 1
    assert buckets, "no coloured pixels"
    return buckets.most_common(1)[0][0]


def silhouette(image: Image.Image) -> tuple[int, int, int, int]:
    """Bounding box of what differs from the backdrop (each row compared with its left pixel)."""
    width, height = image.size
    background = image.crop((0, 0, 1, height)).resize((width, height))
    mask = ImageChops.difference(image, background).convert("L").point(lambda v: 255 * (v > 40))
    box = mask.getbbox()
    assert box is not None
    return box


# -- determinism ------------------------------------------------------------------------


def test_same_inputs_give_identical_pixels() -> None:
    assert digest(draw()) == digest(draw())
    scene = RenderSubject(text="a cat on the beach at sunset")
    assert digest(draw(scene, seed=7)) == digest(draw(scene, seed=7))


@pytest.mark.parametrize(
    "subject", [CLIO, RenderSubject(text="mountains at night with a house")], ids=["car", "scene"]
)
def test_another_process_draws_the_same_pixels_and_bytes(subject: RenderSubject) -> None:
    code = (
        "import hashlib, sys\n"
        "from image_svc.encoding import encode\n"
        "from image_svc.render import RenderSubject, render\n"
        f"subject = RenderSubject(**{dataclasses.asdict(subject)!r})\n"
        "im = render(subject, azimuth=45.0, elevation=5.0, session_id='clio-demo', seed=7,"
        " width=160, height=120)\n"
        "blobs = [im.tobytes()] + [encode(im, f) for f in ('png', 'jpeg', 'webp')]\n"
        "sys.stdout.write(' '.join(hashlib.sha256(b).hexdigest() for b in blobs))\n"
    )
    # A different hash seed proves nothing depends on Python's salted hash().
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    here = render(
        subject, azimuth=45.0, elevation=5.0, session_id="clio-demo", seed=7, width=160, height=120
    )
    blobs = [here.tobytes()] + [encode(here, f) for f in ("png", "jpeg", "webp")]
    assert out.stdout.split() == [hashlib.sha256(b).hexdigest() for b in blobs]


def test_seed_does_not_change_the_car() -> None:
    assert digest(draw(seed=1)) == digest(draw(seed=999))


# -- one car from every angle -----------------------------------------------------------


@functools.cache
def clio_views() -> dict[str, Image.Image]:
    return {name: draw(view=name) for name in VIEWS}


def test_every_angle_gives_a_different_picture() -> None:
    digests = {digest(image) for image in clio_views().values()}
    assert len(digests) == len(VIEWS)


def test_every_angle_shows_the_same_paint() -> None:
    blue = dominant_hue(Image.new("RGB", (1, 1), parse_color("blue")))
    assert {dominant_hue(image) for image in clio_views().values()} == {blue}


def test_left_and_right_profiles_are_mirror_images() -> None:
    views = clio_views()
    mirrored = ImageOps.mirror(views["side_right"])
    assert mean_difference(views["side"], mirrored) < 3.0
    assert mean_difference(views["side"], views["front"]) > 4 * mean_difference(
        views["side"], mirrored
    )
    three_quarter = ImageOps.mirror(views["front_three_quarter_right"])
    assert mean_difference(views["front_three_quarter"], three_quarter) < 6.0


def test_profile_is_longer_than_the_front_is_wide() -> None:
    views = clio_views()
    x0, _, x1, _ = silhouette(views["side"])
    f0, _, f1, _ = silhouette(views["front"])
    assert (x1 - x0) > 1.8 * (f1 - f0)


def test_plate_is_the_same_front_and_rear_and_follows_the_session() -> None:
    car = build_car(CLIO, "clio-demo")
    plates = {
        face.normal[0] > 0: decal.texture.args[0]  # type: ignore[union-attr]
        for face in car.lower.faces
        for decal in face.decals
        if decal.finish == "plate"
    }
    assert plates == {True: plate_text("clio-demo"), False: plate_text("clio-demo")}
    assert plate_text("clio-demo") != plate_text("another-session")


# -- identity follows the subject and the session --------------------------------------


def test_colour_word_sets_the_paint() -> None:
    assert dominant_hue(draw(view="side")) != dominant_hue(
        draw(RenderSubject(brand="Renault", color="red", body_type="hatchback"), view="side")
    )
    vietnamese_red = RenderSubject(brand="VinFast", color="dark red", body_type="suv")
    assert dominant_hue(draw(vietnamese_red, view="side")) == dominant_hue(
        Image.new("RGB", (1, 1), (196, 28, 36))
    )


def test_session_changes_the_details_but_not_the_named_colour() -> None:
    a = draw(view="front_three_quarter", session="session-a")
    b = draw(view="front_three_quarter", session="session-b")
    assert digest(a) != digest(b)
    assert dominant_hue(a) == dominant_hue(b)


def test_unnamed_colour_comes_from_the_session() -> None:
    plain = RenderSubject(text="a car")
    paints = {build_car(plain, f"session-{i}").paint for i in range(12)}
    assert len(paints) >= 4


def test_brand_changes_the_badge() -> None:
    toyota = RenderSubject(
        brand="Toyota", model="Clio", year=2019, color="blue", body_type="hatchback"
    )
    assert digest(draw(toyota, size=(384, 384))) != digest(draw(size=(384, 384)))


@pytest.mark.parametrize("body", BODY_TYPES)
def test_each_body_type_renders(body: str) -> None:
    subject = RenderSubject(brand="Ford", color="green", body_type=body)
    for view in ("front", "side", "rear", "top"):
        image = draw(subject, view, session="bodies")
        assert image.size == (192, 192)
        assert ImageStat.Stat(image).stddev[0] > 10


def test_body_types_have_different_silhouettes() -> None:
    def ratio(body: str) -> float:
        image = draw(RenderSubject(color="white", body_type=body), "side", session="s")
        x0, y0, x1, y1 = silhouette(image)
        return (y1 - y0) / (x1 - x0)

    assert ratio("van") > 1.2 * ratio("coupe")
    assert ratio("suv") > 1.1 * ratio("sedan")
    side = {
        body: digest(draw(RenderSubject(color="white", body_type=body), "side", session="s"))
        for body in BODY_TYPES
    }
    assert len(set(side.values())) == len(BODY_TYPES)


def test_is_vehicle() -> None:
    assert RenderSubject(text="blue 2019 Renault Clio hatchback").is_vehicle
    assert RenderSubject(text="a red Toyota parked downtown").is_vehicle
    assert RenderSubject(category="vehicle").is_vehicle
    assert RenderSubject(body_type="suv").is_vehicle
    assert not RenderSubject(text="a cat on the beach").is_vehicle
    assert not RenderSubject(text="a man next to his car", category="person").is_vehicle
    assert not RenderSubject(text="a cartoon of a scary caravan").is_vehicle


# -- scenes -----------------------------------------------------------------------------


def test_scene_varies_with_prompt_and_seed() -> None:
    beach = RenderSubject(text="a cat on the beach at sunset")
    city = RenderSubject(text="a city skyline at night")
    assert digest(draw(beach, seed=1)) != digest(draw(beach, seed=2))
    assert digest(draw(beach, seed=1)) != digest(draw(city, seed=1))


def test_scene_follows_time_of_day_words() -> None:
    def sky(text: str) -> float:
        image = draw(RenderSubject(text=text), seed=3)
        return ImageStat.Stat(image.crop((0, 0, 192, 30)).convert("L")).mean[0]

    assert sky("a lake at night") < 60 < sky("a lake at noon")


@pytest.mark.parametrize(
    "text",
    [
        "a girl in a red dress in a flower field",
        "a dog in the park",
        "snowy mountains",
        "a sailboat on the ocean",
        "hot air balloon over the desert",
        "a planet in space",
        "a rainy street in the city",
        "a castle in the fog",
        "",
    ],
)
def test_scenes_render(text: str) -> None:
    image = draw(RenderSubject(text=text), seed=5)
    assert image.mode == "RGB"
    assert ImageStat.Stat(image).stddev[0] > 5


@pytest.mark.parametrize("style", ["noir", "black and white"])
def test_noir_is_greyscale_for_scenes_and_cars(style: str) -> None:
    for image in (draw(style=style), draw(RenderSubject(text="a cat"), style=style)):
        r, g, b = image.split()
        assert r.tobytes() == g.tobytes() == b.tobytes()


@pytest.mark.parametrize("style", ["anime", "watercolor", "sepia", "pixel art", "neon"])
def test_styles_change_the_picture(style: str) -> None:
    scene = RenderSubject(text="a house by the lake")
    assert digest(draw(scene, style=style)) != digest(draw(scene))
    assert digest(draw(style=style)) != digest(draw())


# -- sizes and speed --------------------------------------------------------------------


@pytest.mark.parametrize("size", [(64, 64), (1024, 768), (333, 97), (97, 333)])
def test_sizes(size: tuple[int, int]) -> None:
    for subject in (CLIO, RenderSubject(text="a forest")):
        image = draw(subject, "front_three_quarter", size=size)
        assert image.size == size
        assert image.mode == "RGB"


def test_the_largest_image_is_drawn() -> None:
    # How long a view takes is bench/render.py's table, not a timed test.
    image = draw(view="front_three_quarter", size=(2048, 2048))
    assert image.size == (2048, 2048)


def test_rejects_sizes_out_of_range() -> None:
    with pytest.raises(ValueError, match="size"):
        draw(size=(0, 100))
    with pytest.raises(ValueError, match="size"):
        draw(size=(100, 10_000))
