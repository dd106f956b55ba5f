"""Every vehicle the local analyser recognises is drawn as a car with a body the renderer has."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import ImageStat

from image_svc.render import RenderSubject, render, renderer
from image_svc.render.car_body import SPECS
from image_svc.render.studio import StudioPainter
from image_svc.render.vehicle import build_car
from prompt_svc.local import analyze, catalogue

# The drawn body of each catalogue body type (the nearest one where the renderer has no own).
DRAWN = {
    "hatchback": "hatchback",
    "sedan": "sedan",
    "suv": "suv",
    "crossover": "suv",
    "coupe": "coupe",
    "sports car": "sports",
    "convertible": "convertible",
    "pickup": "pickup",
    "van": "van",
    "minivan": "van",
    "wagon": "wagon",
}


def test_every_catalogue_body_type_has_a_drawn_body() -> None:
    assert set(DRAWN) == set(catalogue.BODY_TYPES)
    assert {m.body for m in catalogue.MODELS} <= set(DRAWN)
    assert set(DRAWN.values()) <= set(SPECS)


@pytest.mark.parametrize("body", catalogue.BODY_TYPES)
def test_every_catalogue_body_type_renders_as_a_vehicle(body: str) -> None:
    subject = RenderSubject(brand="Toyota", color="red", body_type=body)

    assert subject.is_vehicle
    assert subject.resolved_body_type("s") == DRAWN[body]
    spec, drawn = build_car(subject, "s").spec, SPECS[DRAWN[body]]
    # The length and height vary a little per session; the rest is the body's.
    assert (spec.width, spec.wheelbase, spec.doors, spec.bed, spec.open_top) == (
        drawn.width,
        drawn.wheelbase,
        drawn.doors,
        drawn.bed,
        drawn.open_top,
    )
    image = render(subject, azimuth=45, elevation=5, session_id="s", seed=1, width=96, height=96)
    assert ImageStat.Stat(image).stddev[0] > 10


def test_every_recognised_model_is_drawn_with_its_body() -> None:
    # One model per make: the analyser's subject, as the image step receives it.
    seen: set[str] = set()
    for model in catalogue.MODELS:
        if model.brand in seen or len(model.name) < 3 or model.name.isdigit():
            continue
        seen.add(model.brand)
        subject = analyze(f"{model.brand} {model.name}").subject
        assert (subject.brand, subject.body_type) == (model.brand, model.body), model
        drawn = RenderSubject(**subject.__dict__)
        assert drawn.is_vehicle, model
        assert drawn.resolved_body_type("s") == DRAWN[model.body], model


def test_sports_car_is_its_own_silhouette() -> None:
    sports, coupe = SPECS["sports"], SPECS["coupe"]
    assert RenderSubject(body_type="sports car").resolved_body_type("s") == "sports"

    assert sports.height < coupe.height
    assert sports.width > coupe.width


@pytest.mark.parametrize(
    "prompt",
    [
        "green Clio front side rear",
        "silver Corolla",
        "Рав4 сірий, спереду і ззаду",
        "xe Innova màu bạc, trước, bên, sau",
        "намалюй вінтажний спортивний автомобіль",
    ],
)
def test_the_analysers_vehicle_is_drawn_by_the_vehicle_painter(
    prompt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    painted: list[str] = []

    class Spy(StudioPainter):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            painted.append("vehicle")
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(renderer, "StudioPainter", Spy)
    monkeypatch.setattr(renderer, "ScenePainter", None)  # a scene would fail loudly
    subject = analyze(prompt).subject
    angles = analyze(prompt).angles or ("front_three_quarter",)
    for _ in angles:
        image = render(
            RenderSubject(**subject.__dict__),
            azimuth=45,
            elevation=5,
            session_id="set",
            seed=1,
            width=96,
            height=96,
        )
        assert image.size == (96, 96)
    assert painted == ["vehicle"] * len(angles)
