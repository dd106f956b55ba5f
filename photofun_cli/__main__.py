"""``python -m photofun_cli`` is the ``photofun`` command."""

from photofun_cli.main import main

raise SystemExit(main())
