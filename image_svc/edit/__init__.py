"""The image-input operations: style transfer, background edits and enhance.

The servicer calls ``ImageEditor`` (``service.py``): it fetches the input from the Media
Service, decodes it within the pixel limit, runs one ``EditOp`` in the render pool and encodes
the result. The edits themselves are pure functions on Pillow images (``operations.py``), built
from the style filters (``styles.py``), the foreground segmentation (``segment.py``, with the
backdrop colour model of ``backdrop.py`` and the mask clean-up of ``regions.py``) and the
helpers of ``common.py``.
"""

from image_svc.edit.operations import parse_hex_color
from image_svc.edit.service import MODEL, Edited, EditOp, ImageEditor

__all__ = ["MODEL", "EditOp", "Edited", "ImageEditor", "parse_hex_color"]
