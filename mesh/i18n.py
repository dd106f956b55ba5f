"""What the product says, in the user's language: gettext catalogues read with Babel.

Each language has one ``.po`` file per domain, in the standard gettext layout under a
package's ``locale`` folder: ``mesh/locale/vi/LC_MESSAGES/photofun.po`` holds every reply the
services write (the prompt service's answers, the pipeline's notes and failures),
``photofun_cli/locale/vi/LC_MESSAGES/cli.po`` what the command line prints. The message ids
are keys (``reply.greet``, ``failure.timed_out``), not English sentences, so an English
wording can change without touching the other languages; every file, English included,
carries the text. Placeholders are ``str.format`` fields (``{views}``); they are not flagged
``python-brace-format``, since a key as msgid has none for gettext tools to compare with.

The ``.po`` files are read with Babel's ``read_po`` on first use (a few milliseconds), so there
is no compiled ``.mo`` to build or to go stale: a fresh clone runs as it is.

The languages are `mesh.vocabulary.LANGUAGES`; a key missing in a language (the catalogue test
forbids it) falls back to English rather than failing a reply. Counted words are keys with a
CLDR plural form at the end (``count.images.one``, ``.few``, ``.many``, ``.other``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel import Locale
from babel.messages.pofile import read_po

from mesh.vocabulary import LANGUAGES

DEFAULT = "en"
DOMAIN = "photofun"
_FIELD = re.compile(r"\{(\w*)[^{}]*\}")
# Letters only Vietnamese writes (with "đ"); the tone marks are combining characters after NFD.
_VI_LETTERS = frozenset("ăâđêôơư")
_VI_TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")


class Key(str):
    """A placeholder value that is itself a catalogue key, worded in its message's language:
    ``replies("failure.refused", "vi", service=Key("service.IMAGE_SERVICE"), detail=...)``."""

    __slots__ = ()


class Worded:
    """A placeholder value worded when its message is, in that message's language: a list of
    failed views, each with its reason, is ``Worded(lambda lang: ...)``. Unlike a `Key`, it
    can join several catalogue texts."""

    __slots__ = ("word",)

    def __init__(self, word: Callable[[str], str]) -> None:
        self.word = word

    def __repr__(self) -> str:
        return f"Worded({self.word('en')!r})"


class Catalogue:
    """The messages of one gettext domain in every language of the product."""

    def __init__(self, package: str, domain: str = DOMAIN) -> None:
        self.package = package
        self.domain = domain

    def path(self, lang: str) -> Traversable:
        """Where the ``.po`` file of `lang` lives."""
        return resources.files(self.package) / "locale" / lang / "LC_MESSAGES" / f"{self.domain}.po"

    def messages(self, lang: str) -> dict[str, str]:
        """Key → text for `lang`; {} when the language has no file."""
        return _read(self.package, self.domain, lang)

    def text(self, key: str, lang: str, /, **values: object) -> str:
        """The message `key` in `lang` with its placeholders filled; English when `lang` is not
        one of ours or lacks the key. KeyError for a key no catalogue has (a bug)."""
        lang = language(lang)
        found = self.messages(lang).get(key) or self.messages(DEFAULT)[key]
        if not values:
            return found
        return found.format(**{k: self._value(v, lang) for k, v in values.items()})

    def _value(self, value: object, lang: str) -> object:
        if isinstance(value, Key):
            return self.text(value, lang)
        if isinstance(value, Worded):
            return value.word(lang)
        return value

    def plural(self, key: str, lang: str, count: int, /, **values: object) -> str:
        """`count` with its counted words: the key ``<key>.<form>`` for the CLDR plural form
        of `count` in `lang` (``one``, ``few``, ``many``, ``other``), else ``<key>.other``.
        English has ``one`` and ``other``; a language with more forms adds its own keys."""
        lang = language(lang)
        form = Locale.parse(lang).plural_form(count)
        messages = self.messages(lang)
        found = messages.get(f"{key}.{form}") or messages.get(f"{key}.other")
        found = found or self.messages(DEFAULT)[f"{key}.other"]
        return found.format(count=count, **values)

    def __call__(self, key: str, lang: str, /, **values: object) -> str:
        return self.text(key, lang, **values)


@cache
def _read(package: str, domain: str, lang: str) -> dict[str, str]:
    path = Catalogue(package, domain).path(lang)
    if not path.is_file():
        return {}
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang, domain=domain)
    return {
        str(m.id): str(m.string) for m in catalog if m.id and isinstance(m.string, str) and m.string
    }


def reason_key(*reasons: str) -> Key:
    """The catalogue key that words a failure's reason: ``failure.reason.<REASON>`` for the
    first of `reasons` (an ErrorInfo reason, then the gRPC code's name) the catalogue has,
    else ``failure.reason_unknown``. A reason is said by what it is, never by the upstream's own
    English text (that stays in the logs)."""
    known = replies.messages(DEFAULT)
    for reason in reasons:
        if reason and f"failure.reason.{reason}" in known:
            return Key(f"failure.reason.{reason}")
    return Key("failure.reason_unknown")


def placeholders(text: str) -> set[str]:
    """The ``str.format`` fields of a message: ``"{views} failed"`` → ``{"views"}``."""
    return set(_FIELD.findall(text))


def language(*candidates: str) -> str:
    """The first candidate that is a language of the product ("VI" counts), else English."""
    for candidate in candidates:
        code = (candidate or "").strip().lower().replace("_", "-").split("-")[0]
        if code in LANGUAGES:
            return code
    return DEFAULT


def script_language(text: str) -> str:
    """ "uk" for Cyrillic text, "vi" for text with letters or tone marks only Vietnamese uses,
    "" otherwise. A guess for when nothing better is known (an analysis that never came)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    if any("\u0400" <= ch <= "\u04ff" for ch in decomposed):
        return "uk"
    composed = unicodedata.normalize("NFC", text.lower())
    if any(ch in _VI_LETTERS for ch in composed) or any(ch in _VI_TONES for ch in decomposed):
        return "vi"
    return ""


replies = Catalogue("mesh")
"""Every reply the services write: ``replies("reply.greet", "vi")``."""
