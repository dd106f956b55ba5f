"""The shared vocabulary converts both ways, for every value the contract defines."""

from __future__ import annotations

import pytest

from mesh.vocabulary import (
    ANGLES,
    LANGUAGES,
    FollowUp,
    Intent,
    Language,
    angle_name,
    angle_value,
)
from photofun.v1 import common_pb2


def test_every_angle_round_trips_and_the_contract_has_no_other() -> None:
    for name in ANGLES:
        assert angle_name(angle_value(name)) == name
    defined = {v for v in common_pb2.Angle.values() if v != common_pb2.ANGLE_UNSPECIFIED}
    assert {angle_value(name) for name in ANGLES} == defined


@pytest.mark.parametrize("name", ["", "up", "FRONT", "front "])
def test_unknown_angle_names_are_unspecified(name: str) -> None:
    assert angle_value(name) == common_pb2.ANGLE_UNSPECIFIED


@pytest.mark.parametrize("value", [common_pb2.ANGLE_UNSPECIFIED, 999, -1])
def test_unspecified_or_unknown_angle_values_have_no_name(value: int) -> None:
    assert angle_name(value) == ""


def test_every_intent_round_trips_and_the_contract_has_no_other() -> None:
    for intent in Intent:
        assert Intent.from_proto(intent.to_proto()) is intent
    defined = {v for v in common_pb2.Intent.values() if v != common_pb2.INTENT_UNSPECIFIED}
    assert {i.to_proto() for i in Intent} == defined
    assert Intent.from_proto(common_pb2.INTENT_UNSPECIFIED) is None


def test_intent_parse_and_needs_image() -> None:
    assert Intent.parse("styleTransfer") is Intent.STYLE_TRANSFER
    assert Intent.parse("") is None
    assert Intent.parse("paint") is None
    assert {i for i in Intent if i.needs_image} == {
        Intent.STYLE_TRANSFER,
        Intent.EDIT_BACKGROUND,
        Intent.ENHANCE_IMAGE,
    }


def test_languages() -> None:
    assert LANGUAGES == ("en", "vi", "uk")
    assert Language.parse(" VI ") is Language.VI
    assert Language.parse("") is None
    with pytest.raises(ValueError, match="fr"):
        Language.parse("fr")


def test_every_follow_up_round_trips_and_the_contract_has_no_other() -> None:
    for kind in FollowUp:
        assert FollowUp.from_proto(kind.to_proto()) is kind
    assert {k.to_proto() for k in FollowUp} == set(common_pb2.FollowUp.values())
    assert FollowUp.from_proto(999) is FollowUp.NONE
