"""The word tables of the local analyser: TOML files in prompt_svc/local/words/."""

from __future__ import annotations

from pathlib import Path

import pytest

from prompt_svc.intents import ANGLES
from prompt_svc.local import lexicon
from prompt_svc.local.lexicon import WORDS, load_table, parse
from prompt_svc.local.prompt import ENHANCEMENTS

TABLES = ("en", "vi", "uk")


def test_every_word_file_is_a_table_the_lexicon_reads() -> None:
    files = sorted(item.name for item in WORDS.iterdir() if item.name.endswith(".toml"))

    assert files == sorted(f"{name}.toml" for name in TABLES)


@pytest.mark.parametrize("name", TABLES)
def test_word_tables_use_known_glosses(name: str) -> None:
    # Tags whose gloss the analyser looks up must use its vocabulary, not free text.
    closed = {
        "angle": set(ANGLES),
        "multi": {"all", "some", *(f"n{n}" for n in range(1, 10))},
        "enh": set(ENHANCEMENTS),
        "bgop": {"remove", "replace", "blur", "transparent", "plain"},
    }
    for entry in parse(load_table(name)):
        assert entry.pattern, entry
        for tag, allowed in closed.items():
            if tag in entry.tags:
                assert entry.gloss in allowed, (tag, entry.gloss, entry.pattern)


def test_the_tables_keep_their_order() -> None:
    # The first of two equally long entries wins, so a table's key order is part of it.
    vi = list(load_table("vi"))

    assert vi[0] == "stop"
    assert vi[-1] == "stop#twins"


def test_a_table_value_must_be_a_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.toml").write_text('stop = "a | the"\n[gen]\ndraw = "x"\n', encoding="utf-8")
    monkeypatch.setattr(lexicon, "WORDS", tmp_path)

    with pytest.raises(TypeError, match="'gen' must be a string"):
        load_table("bad")
