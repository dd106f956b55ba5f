"""The message catalogues: complete in every language, placeholders that match, read as gettext."""

from __future__ import annotations

import argparse
import inspect
import re

import pytest
from babel import Locale
from babel.messages.pofile import read_po

from mesh.i18n import Catalogue, language, placeholders, replies, script_language
from mesh.vocabulary import LANGUAGES

CATALOGUES = [replies, Catalogue("photofun_cli", "cli"), Catalogue("photofun_cli", "argparse")]
ARGPARSE = CATALOGUES[2]
_FIELD = re.compile(r"\{\w*\}")
_PERCENT = re.compile(r"%(?:\((\w+)\))?[rsd]")
IDS = [f"{c.package}:{c.domain}" for c in CATALOGUES]


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_has_a_text_in_every_language(catalogue: Catalogue, lang: str) -> None:
    english = catalogue.messages("en")
    assert english, "the English catalogue is the reference and must not be empty"
    texts = catalogue.messages(lang)
    assert sorted(set(english) - set(texts)) == [], f"{lang} lacks these keys"
    # A language may add the plural forms English does not have (Ukrainian: few, many).
    extra = {k for k in set(texts) - set(english) if not _extra_plural_form(k, english)}
    assert sorted(extra) == [], f"{lang} has keys English does not"
    assert all(text.strip() for text in texts.values())


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_english(catalogue: Catalogue, lang: str) -> None:
    english = catalogue.messages("en")
    for key, text in catalogue.messages(lang).items():
        reference = english.get(key) or english[key.rsplit(".", 1)[0] + ".other"]
        assert placeholders(text) == placeholders(reference), f"{lang} {key}: {text!r}"
        # Every placeholder fills: no stray brace breaks str.format at run time.
        catalogue.text(key, lang, **dict.fromkeys(placeholders(text), "x"))


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_files_are_clean_gettext(catalogue: Catalogue, lang: str) -> None:
    """Babel reads them without complaint, in the right language; nothing is fuzzy."""
    with catalogue.path(lang).open("rb") as handle:
        catalog = read_po(handle, abort_invalid=True)
    assert str(catalog.locale) == lang
    for message in catalog:
        if not message.id:
            continue
        assert not message.fuzzy, message.id


# What stays as it is in every language (as in tests/web/test_locales.py): names and the term
# "seed" (the --seed flag, the API's field), with placeholders and punctuation around them.
_TERMS = re.compile(r"PhotoFun|URL|\bseed\b")


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=IDS)
@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_the_translations_are_not_english_left_in_place(catalogue: Catalogue, lang: str) -> None:
    """A text identical to English is only placeholders, names, terms and punctuation."""
    english = catalogue.messages("en")
    same = [k for k, text in catalogue.messages(lang).items() if english.get(k) == text]
    left = [k for k in same if re.search(r"[^\W\d_]", _TERMS.sub("", _FIELD.sub("", english[k])))]
    assert left == [], f"{lang}: these are still English"


def _extra_plural_form(key: str, english: dict[str, str]) -> bool:
    base, _, form = key.rpartition(".")
    return form in {"zero", "two", "few", "many"} and f"{base}.other" in english


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_plural_form_the_language_uses_is_there(lang: str) -> None:
    """For counted words, each CLDR form `lang` needs for 0..200 has its own text."""
    for catalogue in CATALOGUES:
        texts = catalogue.messages(lang)
        bases = {k.rsplit(".", 1)[0] for k in catalogue.messages("en") if k.endswith(".other")}
        forms = {Locale.parse(lang).plural_form(n) for n in range(201)}
        for base in bases:
            assert sorted(f for f in forms if f"{base}.{f}" not in texts) == [], base


def test_plural_picks_the_form_of_the_count() -> None:
    cli = CATALOGUES[1]
    assert cli.plural("count.images", "en", 1) == "1 image"
    assert cli.plural("count.images", "en", 3) == "3 images"
    assert cli.plural("count.images", "uk", 1) == "1 зображення"
    assert cli.plural("count.images", "uk", 5) == "5 зображень"
    assert cli.plural("count.images", "vi", 5) == "5 ảnh"


def test_a_language_without_the_key_or_catalogue_falls_back_to_english() -> None:
    assert replies("reply.thanks", "fr") == replies("reply.thanks", "en")
    assert replies("reply.thanks", "VI") == replies("reply.thanks", "vi")
    assert replies("reply.thanks", "vi") != replies("reply.thanks", "en")
    with pytest.raises(KeyError):
        replies("reply.no_such_key", "en")


def test_language_takes_the_first_known_code() -> None:
    assert language("", "vi-VN", "uk") == "vi"
    assert language("uk_UA.UTF-8") == "uk"
    assert language("de_DE", "C") == "en"


@pytest.mark.parametrize(
    ("text", "lang"),
    [("прибери фон", "uk"), ("xóa phông nền", "vi"), ("làm nét ảnh", "vi"), ("a red car", "")],
)
def test_script_language(text: str, lang: str) -> None:
    assert script_language(text) == lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_argparse_texts_keep_their_percent_fields(lang: str) -> None:
    """argparse fills its texts with ``%``: a translation has the same fields, and no stray
    ``%`` that would break it."""
    for english, text in ARGPARSE.messages(lang).items():
        assert sorted(_PERCENT.findall(text)) == sorted(_PERCENT.findall(english)), text
        assert text.count("%") == english.count("%"), text


def test_the_argparse_catalogue_words_what_this_pythons_argparse_says() -> None:
    """Its msgids are argparse's own English texts: each is one this Python's argparse passes
    to gettext (a text a newer Python rewords shows up here, not as English in the CLI)."""
    source = inspect.getsource(argparse)
    for english in ARGPARSE.messages("en"):
        assert repr(english) in source or f'"{english}"' in source, english


@pytest.mark.parametrize("lang", LANGUAGES)
def test_help_texts_have_no_percent_sign_for_argparse_to_trip_on(lang: str) -> None:
    """argparse %-formats each help text: a bare ``%`` in a translation breaks ``--help``."""
    cli = CATALOGUES[1]
    helps = {k: v for k, v in cli.messages(lang).items() if k.startswith("help.")}
    assert helps
    assert [k for k, v in helps.items() if "%" in v.replace("%%", "")] == []
