"""The views of ``photofun.v1.Angle``: camera placement and the words used in prompts.

A view's name is the angle's short name of the shared vocabulary (``mesh.vocabulary``).
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.vocabulary import angle_name
from photofun.v1 import common_pb2


@dataclass(frozen=True)
class View:
    """Where the camera stands: azimuth from the subject's front towards its left, elevation."""

    angle: int  # photofun.v1.Angle value
    azimuth: float
    elevation: float
    phrase: str  # English words for prompts: "front three-quarter view"
    shows_front: bool  # the grille (and its badge) is visible
    shows_rear: bool  # the tailgate (and its badge) is visible

    @property
    def name(self) -> str:
        """The stable lower-case name used in seeds and logs: ``front_three_quarter``."""
        return angle_name(self.angle)


_EYE = 5.0
VIEWS: dict[int, View] = {
    v.angle: v
    for v in (
        View(common_pb2.ANGLE_FRONT, 0, _EYE, "front view", True, False),
        View(
            common_pb2.ANGLE_FRONT_THREE_QUARTER,
            45,
            _EYE,
            "front three-quarter view from the left",
            True,
            False,
        ),
        View(common_pb2.ANGLE_SIDE, 90, _EYE, "left side profile view", False, False),
        View(
            common_pb2.ANGLE_REAR_THREE_QUARTER,
            135,
            _EYE,
            "rear three-quarter view from the left",
            False,
            True,
        ),
        View(common_pb2.ANGLE_REAR, 180, _EYE, "rear view", False, True),
        View(
            common_pb2.ANGLE_REAR_THREE_QUARTER_RIGHT,
            225,
            _EYE,
            "rear three-quarter view from the right",
            False,
            True,
        ),
        View(common_pb2.ANGLE_SIDE_RIGHT, 270, _EYE, "right side profile view", False, False),
        View(
            common_pb2.ANGLE_FRONT_THREE_QUARTER_RIGHT,
            315,
            _EYE,
            "front three-quarter view from the right",
            True,
            False,
        ),
        View(common_pb2.ANGLE_TOP, 0, 90, "top-down bird's-eye view", False, False),
    )
}
BY_NAME: dict[str, View] = {v.name: v for v in VIEWS.values()}
STRAIGHT_ON = VIEWS[common_pb2.ANGLE_FRONT_THREE_QUARTER]  # the view of a single image
