"""`python -m conversation_svc`: run the Conversation service (default port 50053)."""

from __future__ import annotations

from collections.abc import Sequence

from conversation_svc.app import build
from conversation_svc.settings import Settings
from mesh.server import run
from mesh.settings import settings_from_cli


def main(argv: Sequence[str] | None = None) -> None:
    """Parse flags over the environment and serve until SIGTERM."""
    run(settings_from_cli(Settings, "PhotoFun conversation service", argv), build)


if __name__ == "__main__":
    main()
