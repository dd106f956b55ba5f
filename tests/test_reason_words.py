"""Every ErrorInfo reason the services send has words for the people who can meet it.

A refusal a person's client (the CLI, the page) can get from ConversationService or from the
sign-in check is worded by its reason in a language other than English: ``reason.<REASON>`` in
photofun_cli's cli.po and ``REASON_WORDS`` in web/src/errors.ts, the same reasons in both. The
others are listed below with why they need no words there; a new reason in the services' code
fails this test until it is put in one group or the other.
"""

from __future__ import annotations

import re
from pathlib import Path

from mesh.i18n import replies
from photofun_cli.words import catalogue

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("mesh", "conversation_svc", "image_svc", "prompt_svc")
# reason="RATE_LIMITED" in a raise, default_reason = "MEDIA_UNAVAILABLE" in an error class.
SENT = re.compile(r'\b(?:reason=|default_reason(?:: ClassVar\[str\])? = )"([A-Z][A-Z0-9_]+)"')

# The gRPC code's own name: the code is worded already, and the detail names the field or id.
CODE_DEFAULTS = {
    "INVALID_ARGUMENT",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "FAILED_PRECONDITION",
    "PERMISSION_DENIED",
    "UNAUTHENTICATED",
    "RESOURCE_EXHAUSTED",
    "UPSTREAM_UNAVAILABLE",
    "DEADLINE_EXCEEDED",
    "INTERNAL",
}
# Sent only to a caller that sends the mesh's own metadata (a service token, a user to act
# for), which neither the CLI nor the page does: the services' operators read them in English.
MESH_ONLY = {"INVALID_SERVICE_TOKEN", "INVALID_USER", "NOT_TRUSTED_FOR_USER"}
# image_svc's, to the worker: a person meets them as a message's failure, worded by
# failure.reason.<REASON> in mesh/locale (checked below).
MESSAGE_FAILURES = {
    "PROVIDER_BUSY",
    "PROVIDERS_EXHAUSTED",
    "INPUT_IMAGE_NOT_FOUND",
    "INPUT_IMAGE_UNREADABLE",
}


def sent_reasons() -> set[str]:
    found: set[str] = set()
    for package in SERVICES:
        for path in (REPO / package).rglob("*.py"):
            found.update(SENT.findall(path.read_text("utf-8")))
    return found


def cli_worded() -> set[str]:
    return {k.removeprefix("reason.") for k in catalogue.messages("en") if k.startswith("reason.")}


def page_worded() -> set[str]:
    source = (REPO / "web" / "src" / "errors.ts").read_text("utf-8")
    block = source.split("REASON_WORDS: Record<string, Key> = {", 1)[1].split("};", 1)[0]
    return set(re.findall(r"^\s+([A-Z][A-Z0-9_]+): ", block, re.MULTILINE))


def test_the_scan_finds_the_reasons_it_should() -> None:
    assert {"RATE_LIMITED", "TOKEN_EXPIRED", "MEDIA_UNAVAILABLE", "INVALID_ARGUMENT"} <= (
        sent_reasons()
    )


def test_the_cli_and_the_page_word_the_same_reasons() -> None:
    assert cli_worded() == page_worded()


def test_every_reason_sent_is_worded_or_listed_with_why_not() -> None:
    worded = cli_worded()
    unworded = CODE_DEFAULTS | MESH_ONLY | MESSAGE_FAILURES
    assert not worded & unworded
    assert sorted(sent_reasons() - worded - unworded) == []
    assert sorted(unworded - sent_reasons()) == [], "listed, but no longer sent"


def test_reasons_met_as_a_message_failure_have_failure_words_in_every_language() -> None:
    for reason in MESSAGE_FAILURES:
        for lang in ("en", "vi", "uk"):
            assert f"failure.reason.{reason}" in replies.messages(lang), (reason, lang)


def test_the_cli_words_each_reason_in_every_language() -> None:
    for lang in ("vi", "uk"):
        words = catalogue.messages(lang)
        assert sorted(f"reason.{r}" for r in cli_worded() if f"reason.{r}" not in words) == []
