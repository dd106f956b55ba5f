"""The local analyser: offline intent detection and prompt refinement for en / vi / uk.

The fallback of the prompt service, used when Gemini is not configured or fails. The layers,
from the bottom up: `words/*.toml` (what it knows, per language), `text` (folding, tokens),
`lexicon` (reads the word tables; the phrase matcher), `subject` (vehicle and viewpoints),
`features` (what a prompt contains), `prompt` (the English side), `followup` (what a message
does with the earlier turns of its conversation) and `analyzer` (the rules that pick the
intent).
"""

from __future__ import annotations

from prompt_svc.local.analyzer import (
    MODEL_NAME,
    NO_IMAGE_REPLY,
    NO_SOURCE_REPLY,
    analyze,
    detect_language,
)

__all__ = ["MODEL_NAME", "NO_IMAGE_REPLY", "NO_SOURCE_REPLY", "analyze", "detect_language"]
