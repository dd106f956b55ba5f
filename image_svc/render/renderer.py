"""The mock generator: deterministic procedural images, the default when no cloud key is set.

Vehicles are drawn as one procedural car whose identity (body, paint, wheels, badge, plate)
comes from the subject and ``session_id`` and whose viewpoint comes from azimuth/elevation, so
the views of one session show one car. Anything else becomes a scene composed from the
prompt's keywords and ``seed``. Polygons are drawn at twice the size and halved with
``reduce(2)``, a 2x2 box filter: edges come out smooth while flat areas keep their exact
colours, so images have few colours and small PNGs (docs/platform-notes.md, Pillow). Scenes
are drawn whole at 2x; a car's studio paints its smooth backdrop and shadow at a quarter of
the output size and widens them, and draws only the car's box at 2x (studio.py).

Same inputs give the same pixels in any process: every choice comes from BLAKE2b-seeded
``random.Random`` instances (subject.stable_rng), never from ``hash()`` or the clock.
"""

from __future__ import annotations

from PIL import Image

from image_svc.render.scene import ScenePainter, plan_scene
from image_svc.render.studio import StudioPainter
from image_svc.render.style import finish, look_for
from image_svc.render.subject import RenderSubject
from image_svc.render.vehicle import build_car

__all__ = ["MAX_SIZE", "MIN_SIZE", "RenderSubject", "render"]

MIN_SIZE = 16
MAX_SIZE = 2048  # a 2x canvas of 4096x4096 RGB is already 48 MiB


def render(
    subject: RenderSubject,
    *,
    azimuth: float,
    elevation: float,
    session_id: str,
    seed: int,
    width: int,
    height: int,
    style: str = "",
    take: int = 0,
) -> Image.Image:
    """Draw ``subject`` as an RGB image of ``width`` x ``height``.

    For vehicles, azimuth is in degrees from the car's front towards its left side (0 front,
    90 left profile, 180 rear, 270 right profile) and elevation from eye level (0) to straight
    down (90); ``seed`` does not change the car, ``take`` (another version of the same set)
    changes its studio. For other subjects the view is ignored and ``seed`` varies the
    composition.
    """
    if not (MIN_SIZE <= width <= MAX_SIZE and MIN_SIZE <= height <= MAX_SIZE):
        raise ValueError(f"size {width}x{height} outside {MIN_SIZE}..{MAX_SIZE}")
    look = look_for(style, subject.text)
    if subject.is_vehicle:
        model = build_car(subject, session_id)
        painter = StudioPainter(model, session_id, outline=look.outline, take=take)
        image = painter.paint(azimuth % 360.0, elevation, width, height)
    else:
        image = ScenePainter(plan_scene(subject, seed), look).paint(width * 2, height * 2).reduce(2)
    return finish(image, look)
