"""What the local analyser sees in a prompt: matched cues, content words, angles, vehicle."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from prompt_svc.local import catalogue
from prompt_svc.local.lexicon import MATCHERS, Match, angle_typo
from prompt_svc.local.subject import Vehicle, find_angles, find_vehicle
from prompt_svc.local.text import Token, normalize, script_language, tokenize

# Tags whose words describe the picture itself (as opposed to what to do with it).
CONTENT_TAGS = frozenset(
    {
        "noun:person",
        "noun:animal",
        "noun:scene",
        "noun:object",
        "adj",
        "act",
        "light",
        "vehicle",
        "brand",
        "body",
        "unk",
    }
)
_VIEW_TAGS = frozenset({"angle", "wangle"})
# Words that may stand before a question word without hiding it ("hey, what ...", "а які").
_LEAD_SKIP = frozenset({"stop", "greet", "ack", "thanks"})
_TAIL_QUESTION = 3  # Vietnamese "không" near the end makes a yes/no question
# The shape of a Vietnamese syllable typed without diacritics: onset, vowels, final.
_VI_SYLLABLE = re.compile(
    r"(ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?[aeiouy]{1,3}(ng|nh|ch|[cmnpt])?"
)


@dataclass(frozen=True)
class Features:
    """One prompt's tokens, lexicon matches and what they add up to."""

    text: str
    lang: str
    tokens: list[Token]
    matches: list[Match]
    glosses: dict[str, list[str]]  # tag -> glosses of its matches, in order
    question: bool  # a real question ("how do I ...", "tại sao ...")
    soft_question: bool  # may be a polite request as well ("... không?")
    angles: tuple[str, ...]  # named views, in order
    multiview: str  # "", "some" or "all": asked for several views without naming them
    vehicle: Vehicle
    content: tuple[int, ...]  # indices of the matches that describe the picture

    def has(self, tag: str) -> bool:
        """True when some match carries `tag`."""
        return tag in self.glosses

    def count(self, tag: str) -> int:
        """How many matches carry `tag`."""
        return len(self.glosses.get(tag, ()))

    def first(self, tag: str) -> str:
        """Gloss of the first match carrying `tag`, or ""."""
        found = self.glosses.get(tag)
        return found[0] if found else ""

    def words(self, match: Match) -> str:
        """The prompt's own text covered by `match`."""
        return self.text[self.tokens[match.start].start : self.tokens[match.end - 1].end]


def extract(text: str, lang: str) -> Features:
    """Tokenise, match against the lexicon of `lang` and collect the features."""
    tokens = tokenize(text)
    hits = catalogue.find(tokens)
    names = {t for hit in hits for t in range(hit.start, hit.end)}
    # A language without a word table of its own (a newly added one) is read with English.
    matches = _resolve_context(MATCHERS.get(lang, MATCHERS["en"]).match(tokens, names), tokens)
    glosses: dict[str, list[str]] = defaultdict(list)
    for match in matches:
        for tag in match.tags:
            glosses[tag].append(match.gloss)
    matches = _angle_typos(matches, tokens, lang)
    angles, multiview = find_angles(matches, tokens, text)
    content = tuple(
        i
        for i, m in enumerate(matches)
        if m.tags & CONTENT_TAGS and not ("unk" in m.tags and _is_number(m.gloss))
    )
    return Features(
        text=text,
        lang=lang,
        tokens=tokens,
        matches=matches,
        glosses=dict(glosses),
        question=_leading_question(matches) or "q" in glosses,
        soft_question="qweak" in glosses,
        angles=angles,
        multiview=multiview,
        vehicle=find_vehicle(text, tokens, matches, hits),
        content=content,
    )


def detect_language(text: str) -> str:
    """Guess the language of `text`: "uk", "vi" or "en" (the default).

    `decisive_language` when it decides, else English.
    """
    return decisive_language(text) or "en"


def decisive_language(text: str) -> str:
    """The language `text` is unmistakably in: "uk", "vi", "en", or "" when it does not tell.

    The script decides when it can (Cyrillic, Vietnamese letters). Plain ASCII is Vietnamese
    typed without diacritics when more of its words are Vietnamese-only (known to the
    Vietnamese lexicon, unknown to the English one: "tang chat luong anh") than English-only
    (known only to the English lexicon, or not even shaped like a Vietnamese syllable), and
    English when it has English-only words and no Vietnamese-only one. Words both know ("a",
    "cat" / "cắt", "on" / "ổn", "hello") count for neither, and neither do car makes and models
    ("Xpander", "Corolla") or numbers, so "hello", "Toyota Camry 2020", a mix with fewer
    Vietnamese-only words ("ve anime girl") or an empty text do not tell ("").
    """
    text = normalize(text)
    by_script = script_language(text)
    if by_script:
        return by_script
    tokens = tokenize(text)
    vi_known = _known(tokens, "vi")
    en_known = _known(tokens, "en")
    names = {i for hit in catalogue.find(tokens) for i in range(hit.start, hit.end)}
    vi_only = en_only = 0
    for i, token in enumerate(tokens):
        if not token.folded.isalpha() or i in names:
            continue
        if i in vi_known and i not in en_known:
            vi_only += 1
        elif i not in vi_known and (i in en_known or not _VI_SYLLABLE.fullmatch(token.folded)):
            en_only += 1
    if vi_only > en_only:
        return "vi"
    return "en" if en_only and not vi_only else ""


def _known(tokens: list[Token], lang: str) -> set[int]:
    """Indices of the tokens that the lexicon of `lang` itself (not a fallback) recognises."""
    return {i for m in MATCHERS[lang].match(tokens) if m.rank == 0 for i in range(m.start, m.end)}


def _is_number(word: str) -> bool:
    return word.replace("/", "").isdigit()


def _leading_question(matches: list[Match]) -> bool:
    for match in matches:
        if "qlead" in match.tags:
            return True
        if not match.tags <= _LEAD_SKIP:
            return False
    return False


def _angle_typos(matches: list[Match], tokens: list[Token], lang: str) -> list[Match]:
    """Read an unknown word one typo from a view word as that view, in a list of views.

    "front side rera", "спреду і ззаду": only when the prompt names another view, so that
    ordinary words one letter from a view word ("wide", "read") stay what they are.
    """
    if not any(m.tags & _VIEW_TAGS for m in matches):
        return matches
    out = list(matches)
    for i, match in enumerate(matches):
        if "unk" in match.tags:
            entry = angle_typo(tokens[match.start], lang)
            if entry is not None:
                out[i] = Match(match.start, match.end, entry.tags, entry.gloss, entry.rank)
    return out


def _resolve_context(matches: list[Match], tokens: list[Token]) -> list[Match]:
    """Give the few position-dependent Vietnamese words their meaning.

    Typed with diacritics the word is unambiguous ("biến" turn into, "biển" sea, "nhà" house);
    typed without, its position decides.
    """
    if not any(tag.startswith("ctx:") for m in matches for tag in m.tags):
        return matches
    out: list[Match] = []
    last = len(matches) - 1
    seen_word = False
    for i, match in enumerate(matches):
        tags = match.tags
        typed = tokens[match.start].text.casefold()
        if "ctx:bien" in tags:
            opens = typed == "biến" or (typed == "bien" and not seen_word)
            tags = frozenset({"transform"} if opens else {"noun:scene"})
        elif "ctx:nha" in tags:
            particle = typed != "nhà" and i == last
            tags = frozenset({"stop"} if particle else {"noun:object"})
        elif "ctx:hong" in tags:
            views = any(m.tags & _VIEW_TAGS for k, m in enumerate(matches) if k != i)
            side = typed == "hông" or (typed == "hong" and views)
            tags = frozenset({"stop", "wangle"} if side else {"color"})
            gloss = "side" if side else "pink"
            out.append(Match(match.start, match.end, tags, gloss, match.rank))
            continue
        elif "ctx:khong" in tags:
            tags = frozenset({"qweak"} if last - i < _TAIL_QUESTION else {"stop"})
        out.append(Match(match.start, match.end, tags, match.gloss, match.rank))
        if "stop" not in tags and "want" not in tags:
            seen_word = True
    return out
