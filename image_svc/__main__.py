"""`python -m image_svc`: run the Image service (default port 50052)."""

from __future__ import annotations

from collections.abc import Sequence

from image_svc.app import build
from image_svc.settings import Settings
from mesh.server import run
from mesh.settings import settings_from_cli


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags over the environment and serve until SIGTERM."""
    run(settings_from_cli(Settings, "PhotoFun image service", argv), build)


if __name__ == "__main__":
    main()
