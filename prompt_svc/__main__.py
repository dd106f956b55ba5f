"""`python -m prompt_svc`: run the Prompt service (default port 50051)."""

from __future__ import annotations

from collections.abc import Sequence

from mesh.server import run
from mesh.settings import settings_from_cli
from prompt_svc.app import build
from prompt_svc.settings import Settings


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags over the environment and serve until SIGTERM."""
    run(settings_from_cli(Settings, "PhotoFun prompt service", argv), build)


if __name__ == "__main__":
    main()
