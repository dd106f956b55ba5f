"""The message catalogues: complete in every language, placeholders that match, read as gettext."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from mesh.i18n import Catalogue, language, placeholders, replies, script_language
from mesh.vocabulary import LANGUAGES

CATALOGUES = [replies, Catalogue("photofun_cli", "cli")]
IDS = [f"{c.package}:{c.domain}" for c in CATALOGUES]


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_has_a_text_in_every_language(catalogue: Catalogue, lang: str) -> None:
    english = catalogue.messages("en")
    assert english, "the English catalogue is the reference and must not be empty"
    texts = catalogue.messages(lang)
    assert sorted(set(english) - set(texts)) == [], f"{lang} lacks these keys"
    assert sorted(set(texts) - set(english)) == [], f"{lang} has keys English does not"
    assert all(text.strip() for text in texts.values())


@pytest.mark.parametrize("catalogue", CATALOGUES, ids=IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_english(catalogue: Catalogue, lang: str) -> None:
    english = catalogue.messages("en")
    for key, text in catalogue.messages(lang).items():
        assert placeholders(text) == placeholders(english[key]), f"{lang} {key}: {text!r}"
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
