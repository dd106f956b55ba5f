"""The views: one per angle of the contract, named as the shared vocabulary names it."""

from __future__ import annotations

from image_svc.angles import BY_NAME, STRAIGHT_ON, VIEWS
from mesh.vocabulary import ANGLES, angle_value
from photofun.v1 import common_pb2


def test_every_angle_of_the_vocabulary_has_one_view() -> None:
    assert sorted(BY_NAME) == sorted(ANGLES)
    for name in ANGLES:
        assert VIEWS[angle_value(name)] is BY_NAME[name]
        assert BY_NAME[name].name == name


def test_the_names_are_the_ones_seeds_were_derived_from() -> None:
    # Seeds hash the view's name: renaming a view would change every image of a session.
    assert VIEWS[common_pb2.ANGLE_FRONT_THREE_QUARTER_RIGHT].name == "front_three_quarter_right"
    assert STRAIGHT_ON.name == "front_three_quarter"
