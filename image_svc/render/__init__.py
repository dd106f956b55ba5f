"""The procedural renderer behind the mock provider and the generated backgrounds of edits.

The rest of the service uses only what this package exports: ``render`` draws a subject as a
Pillow image (``renderer.py``), ``RenderSubject`` says what to draw (``subject.py``) and
``RenderPool`` runs the CPU-bound drawing off the event loop (``pool.py``). The other modules
are the renderer's own parts:

- ``vehicle.py`` builds one car per session from ``car_body.py``, ``car_details.py`` and
  ``textures.py`` on the 3D kit of ``geometry.py``; ``studio.py`` and ``wheels.py`` draw it
  from a viewpoint;
- ``scene.py`` composes the scenes of other prompts with the figures of ``shapes.py``;
- ``style.py`` holds the visual styles both apply.
"""

from image_svc.render.pool import RenderPool
from image_svc.render.renderer import MAX_SIZE, MIN_SIZE, render
from image_svc.render.subject import RenderSubject

__all__ = ["MAX_SIZE", "MIN_SIZE", "RenderPool", "RenderSubject", "render"]
