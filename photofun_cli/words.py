"""What ``photofun`` prints, in the language of the person at the terminal.

The texts are the gettext catalogue ``photofun_cli/locale/<lang>/LC_MESSAGES/cli.po`` (the
same mechanism as the services' replies, `mesh.i18n`, in a domain of its own). The language is
``--lang`` when given, else the first of ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG``
that is set (as gettext reads them), else English. Codes, ids, URLs and the contract's names
(``DONE``, ``generateAngles``, ``front_three_quarter``) stay as they are: scripts read them.

What Python's argparse prints itself (``usage:``, ``options``, ``error: the following arguments
are required``) is worded by the catalogue ``argparse.po`` of the same folder: argparse calls
gettext for those texts, and `argparse_words` answers those calls for the command's language
while it parses. Its msgids are argparse's own English texts, as for any gettext domain.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator, Mapping, Sequence

from babel.numbers import format_decimal

from mesh.i18n import DEFAULT, Catalogue
from mesh.vocabulary import LANGUAGES

catalogue = Catalogue("photofun_cli", "cli")
argparse_catalogue = Catalogue("photofun_cli", "argparse")
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


def from_arguments(argv: Sequence[str]) -> str:
    """The ``--lang`` of a command line before it is parsed (``--lang vi``, ``--lang=vi``), so
    that its help and its errors are worded in it; "" when absent or not one of ours."""
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        value = ""
        if arg == "--lang" and index + 1 < len(argv):
            value = argv[index + 1]
        elif arg.startswith("--lang="):
            value = arg.removeprefix("--lang=")
        if value.lower() in LANGUAGES:
            return value.lower()
    return ""


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


def number(value: float, digits: int = 1) -> str:
    """`value` with `digits` decimals, as the command's language writes it: ``1.7`` in
    English, ``1,7`` in Vietnamese and Ukrainian (CLDR, through Babel)."""
    return format_decimal(value, format="#,##0." + "0" * digits, locale=_current)


@contextlib.contextmanager
def argparse_words() -> Iterator[None]:
    """While parsing: argparse's own texts in the command's language. argparse looks up its
    module's ``_`` (``gettext.gettext``) each time it words something; this answers from
    ``argparse.po`` instead, and puts gettext back afterwards. A text the catalogue lacks
    (one a newer Python added) stays as argparse wrote it."""
    texts = argparse_catalogue.messages(_current)
    original = argparse._  # type: ignore[attr-defined]  # argparse's gettext, a module global

    def translate(message: str) -> str:
        return texts.get(message, message)

    argparse._ = translate  # type: ignore[attr-defined]
    try:
        yield
    finally:
        argparse._ = original  # type: ignore[attr-defined]
