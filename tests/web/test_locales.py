"""The page's catalogues (web/src/locales/*.json): every key in every language, the same
placeholders, the plural forms each language needs, and the languages i18n.ts offers.

(`tsc` in `make lint` checks the other half: every key the page uses is in English, and every
language of `LOCALES` has every English key.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel import Locale

WEB = Path(__file__).resolve().parents[2] / "web" / "src"
LOCALES = WEB / "locales"
FIELD = re.compile(r"\{(\w+)\}")
EXTRA_FORMS = {"zero", "two", "few", "many"}


def catalogue(lang: str) -> dict[str, str]:
    words: dict[str, str] = json.loads((LOCALES / f"{lang}.json").read_text("utf-8"))
    return words


def offered() -> list[str]:
    """The language codes of `LOCALES` in i18n.ts, in order."""
    source = (WEB / "i18n.ts").read_text("utf-8")
    block = source.split("export const LOCALES = {", 1)[1].split("} satisfies", 1)[0]
    return re.findall(r"^\s+(\w+): \{ name: ", block, re.MULTILINE)


LANGS = sorted(p.stem for p in LOCALES.glob("*.json"))


def test_every_catalogue_file_is_offered_and_every_offered_language_has_a_file() -> None:
    assert sorted(offered()) == LANGS
    assert {"en", "vi", "uk"} <= set(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_exists_in_every_language(lang: str) -> None:
    english, words = catalogue("en"), catalogue(lang)
    assert sorted(set(english) - set(words)) == [], f"{lang}.json lacks these keys"
    extra = [
        key
        for key in set(words) - set(english)
        if not (
            key.rsplit(".", 1)[-1] in EXTRA_FORMS and f"{key.rsplit('.', 1)[0]}.other" in english
        )
    ]
    assert sorted(extra) == [], f"{lang}.json has keys English does not"
    assert all(text.strip() for text in words.values()), "an empty text"


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_match_english(lang: str) -> None:
    english = catalogue("en")
    for key, text in catalogue(lang).items():
        reference = english.get(key) or english[key.rsplit(".", 1)[0] + ".other"]
        assert set(FIELD.findall(text)) == set(FIELD.findall(reference)), f"{lang} {key}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_plural_form_the_language_uses_is_there(lang: str) -> None:
    """The page picks `<key>.<form>` with Intl.PluralRules; CLDR (Babel has the same rules)
    says which forms a language uses for whole numbers."""
    words = catalogue(lang)
    forms = {Locale.parse(lang).plural_form(n) for n in range(201)}
    for base in {k.rsplit(".", 1)[0] for k in catalogue("en") if k.endswith(".other")}:
        assert sorted(f for f in forms if f"{base}.{f}" not in words) == [], f"{lang} {base}"


# What stays as it is in every language: names, and terms the product uses as they are ("seed"
# is the --seed flag and the API's field; Vietnamese and Ukrainian image tools say it too).
TERMS = re.compile(r"PhotoFun Studio|PhotoFun|Anime|Neon|Cyberpunk|Pixel art|URL|\bseed\b")


def left_in_english(text: str) -> bool:
    """True when `text` has words once its placeholders and the terms that stay are taken out:
    "{title} — PhotoFun Studio" has none, "seed {seed}" none, "Copy {name}" has "Copy"."""
    rest = TERMS.sub("", FIELD.sub("", text))
    return re.search(r"[^\W\d_]", rest) is not None


def test_the_translations_are_not_english_left_in_place() -> None:
    """A text identical to English in vi or uk must be made of placeholders, names, terms and
    punctuation: a whole English sentence with a placeholder in it does not pass."""
    english = catalogue("en")
    for lang in ("vi", "uk"):
        same = [
            k
            for k, v in catalogue(lang).items()
            if v == english.get(k) and not k.startswith("suggestion.")  # examples to try
        ]
        assert [k for k in same if left_in_english(english[k])] == [], lang


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("{title} — PhotoFun Studio", False),
        ("seed {seed} ~", False),
        ("{index} / {total}", False),
        ("Copy {name}", True),  # the sentence the old check let through
        ("{count} characters over the {limit}-character limit", True),
        ("seeds", True),
    ],
)
def test_the_english_left_check_sees_words_around_placeholders(text: str, left: bool) -> None:
    assert left_in_english(text) is left
