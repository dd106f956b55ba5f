"""What ``photofun`` prints, in the language of the person at the terminal.

The texts are the gettext catalogue ``photofun_cli/locale/<lang>/LC_MESSAGES/cli.po`` (the
same mechanism as the services' replies, `mesh.i18n`, in a domain of its own). The language is
``--lang`` when given, else the first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``
that is set (as gettext reads them), else English. Codes, ids, URLs and the contract's names
(``DONE``, ``generateAngles``, ``front_three_quarter``) stay as they are: scripts read them.
"""

from __future__ import annotations

from collections.abc import Mapping

from mesh.i18n import DEFAULT, Catalogue
from mesh.vocabulary import LANGUAGES

catalogue = Catalogue("photofun_cli", "cli")
_ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
_current = DEFAULT


def from_environment(env: Mapping[str, str]) -> str:
    """The language the locale variables ask for: ``vi_VN.UTF-8`` → ``vi``; English when the
    first one set names a language we do not speak (``de_DE``, ``C``)."""
    for name in _ENVIRONMENT:
        value = env.get(name, "")
        if not value:
            continue
        for part in value.split(":"):  # LANGUAGE is a list, most wanted first
            code = part.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()
            if code in LANGUAGES:
                return code
        if name != "LANGUAGE":
            return DEFAULT
    return DEFAULT


def use(lang: str) -> None:
    """Print in `lang` from now on (one command, one language)."""
    global _current  # noqa: PLW0603 - one language for the one command this process runs
    _current = lang if lang in LANGUAGES else DEFAULT


def current() -> str:
    """The language the command prints in."""
    return _current


def say(key: str, /, **values: object) -> str:
    """The catalogue's `key` in the command's language, its placeholders filled."""
    return catalogue.text(key, _current, **values)


def count(key: str, number: int, /, **values: object) -> str:
    """`number` with its counted words, in the command's language: ``3 images``."""
    return catalogue.plural(key, _current, number, **values)
