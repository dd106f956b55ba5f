"""Local intent analyser: the fallback that answers when Gemini cannot, with no network.

Deterministic rules over a small en/vi/uk lexicon (`words/`), matched after folding
case, Vietnamese diacritics and Ukrainian apostrophes. In order:

1. Several named views of one subject ("front, side and rear", "3/4 and from behind"), or a
   request for many views ("from all sides", "nhiều góc", "з усіх боків") → generateAngles.
   "All sides" with no list means front, front 3/4, side, rear 3/4, rear; "N views" exactly N
   (`views`); any other request for views with fewer than two named means front, side, rear.
2. A real question ("how do I ...", "tại sao ...", "скільки коштує ..."), or asking whether
   it can draw with nothing to draw ("can you draw?", "bạn có vẽ được không?") → chat.
3. Words that work on an input image — restyle ("make it anime", "biến ảnh này thành ..."),
   background ("remove the background", "xóa phông", "заміни фон"), enhance ("upscale",
   "làm nét", "покращ якість") → that intent when an image is attached.
   Without an image the request is never silently turned into something else:
   * if the text still describes a picture ("change the background of my car photo to a
     desert"), the answer is generateImage and the reply says that no image was attached, so
     a new image is generated instead of editing one;
   * if it does not ("enhance it", "remove the background"), the answer is chat and the
     reply asks the user to attach the image.
   A style word alone is a parameter, not an edit: "an anime girl" is generateImage.
4. Greetings, thanks, goodbyes, complaints and "ok"/"cool" with nothing to draw → chat.
5. One named view of a vehicle ("Camry, three-quarter rear view") → generateAngles with that
   view; anything else that names something to draw → generateImage; nothing recognisable →
   chat. Changing the sky or scene of a photo ("swap the sky for a starry night") is a
   background edit (rule 3).
6. A new image (or views) with no subject at all ("draw something", "vẽ đi", "намалюй", "show
   me more views" with no earlier result to continue) is never drawn as a generic scene: the
   answer is chat, and the reply (the catalogue's "reply.unknown", in the reply language)
   asks what to draw. A style alone ("anime style") is a subject here.

The language: the text is read in the language it is unmistakably in (Cyrillic, Vietnamese
letters, or words only Vietnamese or only English has), whatever the caller's `lang` says; the
caller's `lang` picks the language of the reply (and `Analysis.lang`), and is the language the
text is read in only when the text itself does not tell ("hello", "Toyota Camry 2020").

With a conversation context, `followup.resolve` first reads the message as a follow-up of an
earlier turn (edit it, more views, a changed subject, another take); see that module.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.i18n import replies
from mesh.vocabulary import LANGUAGES
from prompt_svc.intents import ANGLES, Analysis, Context, FollowUp, Intent, Subject
from prompt_svc.local import followup
from prompt_svc.local.features import Features, decisive_language, detect_language, extract
from prompt_svc.local.prompt import build_subject, keywords, refine, untranslated
from prompt_svc.local.subject import ALL_SIDES, DEFAULT_VIEWS, EXTRA_VIEWS
from prompt_svc.local.text import normalize

__all__ = ["MODEL_NAME", "NO_IMAGE_REPLY", "NO_SOURCE_REPLY", "analyze", "detect_language"]

NO_SOURCE_REPLY = followup.NO_SOURCE_REPLY

MODEL_NAME = "local-rules v1"

# Replies are keys of the message catalogue (mesh/locale/*/LC_MESSAGES/photofun.po), written
# in the caller's `lang`, else the language the prompt was read in; these two are the English
# texts, for callers' tests.
NO_IMAGE_REPLY = replies("reply.no_image", "en")
_ATTACH = {
    Intent.STYLE_TRANSFER: "reply.attach.styleTransfer",
    Intent.EDIT_BACKGROUND: "reply.attach.editBackground",
    Intent.ENHANCE_IMAGE: "reply.attach.enhanceImage",
}
_TASK_TAGS = ("gen", "make", "want")
# Content that names a thing to draw, as opposed to describing it ("гарне", "beautiful").
_NAMING_TAGS = frozenset(
    {"noun:person", "noun:animal", "noun:scene", "noun:object", "vehicle", "brand", "unk"}
)
_DRAWING = frozenset({Intent.GENERATE_IMAGE, Intent.GENERATE_ANGLES})
_PLEASANTRIES = ("complain", "dismiss", "greet", "thanks", "bye")
# Points per cue; a noun-like cue ("background", "upscale") outweighs a style word.
_STRONG = 3
_STYLE = 2


@dataclass(frozen=True)
class _Decision:
    intent: Intent
    confidence: float
    reply: str = ""  # a key of the message catalogue, or "" for no reply
    stands_in: bool = False  # a new image instead of the edit that needed one


_NOTHING_TO_DRAW = _Decision(Intent.CHAT, 0.5, "reply.unknown")


def analyze(
    prompt: str,
    *,
    style: str = "",
    lang: str = "",
    topic: str = "",
    has_image: bool = False,
    context: Context | None = None,
) -> Analysis:
    """Detect the intent of `prompt` and build an English prompt for the image model.

    `lang` is the caller's hint, "en", "vi" or "uk" (anything else, or "", is no hint): the
    language of the reply and of `Analysis.lang`. The text is read in the language it is
    unmistakably in (`decisive_language`: its script, or words only one language has), so a
    Vietnamese prompt sent with "uk" is still read as Vietnamese and answered in Ukrainian;
    when the text does not tell ("hello", "Toyota Camry 2020"), it is read in the hint's
    language, else in English. `style` and `topic` enrich the refined prompt; `has_image`
    says whether an input image came with the message. `context` holds the recent turns of
    the conversation; without it (None) no message is read as a follow-up.
    """
    text = normalize(prompt)
    hint = lang.strip().lower()
    hint = hint if hint in LANGUAGES else ""
    read = decisive_language(text) or hint or "en"  # the language the text is read in
    lang = hint or read  # the language of the reply
    features = extract(text, read)
    if context is not None:
        plan = followup.resolve(
            features, context, has_image=has_image, edit=lambda: _edit_decision(features)
        )
        if plan is not None:
            return _follow_up(plan, features, lang, style, topic)
    decision = _decide(features, has_image)
    intent = decision.intent
    own_words = read == "en" and intent is Intent.GENERATE_IMAGE and not decision.stands_in
    subject = build_subject(features, own_words=own_words)
    if intent in _DRAWING and not subject.text:
        # "draw something", "show me more views" with nothing to continue: ask, never guess.
        decision, intent = _NOTHING_TO_DRAW, Intent.CHAT
    refined: str = text
    kept: tuple[str, ...] = ()
    if intent is not Intent.CHAT:
        refined, kept = refine(intent, features, subject, style, topic), untranslated(features)
    return Analysis(
        intent=intent,
        confidence=round(decision.confidence, 2),
        lang=lang,
        keywords=keywords(features),
        subject=subject,
        angles=_angles(features) if intent is Intent.GENERATE_ANGLES else (),
        refined_prompt=refined,
        reply=replies(decision.reply, lang) if decision.reply else "",
        untranslated_terms=kept,
    )


def _follow_up(plan: followup.Plan, f: Features, lang: str, style: str, topic: str) -> Analysis:
    """The analysis of a follow-up: what the plan says to draw, worded for the image model."""
    intent, subject, turn = plan.intent, plan.subject, plan.turn
    refined = f.text
    if plan.follow_up is FollowUp.EDIT:
        # The instruction is about the edit; the subject is what the earlier image shows.
        edited = subject
        if intent is Intent.EDIT_BACKGROUND:
            edited = build_subject(f, own_words=False)  # the new background, if named
        refined = refine(intent, f, edited, style, topic)
    elif turn is not None:
        refined = _reworded(turn.refined_prompt, turn.subject, subject) or refine(
            intent, f, subject, style, topic
        )
    words = (subject.brand, subject.model, subject.color, subject.body_type)
    return Analysis(
        intent=intent,
        confidence=plan.confidence,
        lang=lang,
        keywords=tuple(dict.fromkeys((*keywords(f), *(w.lower() for w in words if w)))),
        subject=subject,
        angles=plan.angles,
        refined_prompt=refined,
        reply=replies(plan.reply, lang) if plan.reply else "",
        untranslated_terms=untranslated(f) if intent is not Intent.CHAT else (),
        follow_up=plan.follow_up,
        source_turn=plan.source,
    )


def _reworded(earlier: str, old: Subject, new: Subject) -> str:
    """The earlier refined prompt about `new` instead of `old`; "" when it cannot be reused."""
    if not earlier:
        return ""
    if new == old:
        return earlier
    if old.text and old.text in earlier:
        return earlier.replace(old.text, new.text, 1)
    return ""


def _edit_decision(f: Features) -> tuple[Intent, float] | None:
    """The image intent the message would have with an image attached, if any.

    A restyle needs a named style here: "turn it into a convertible" changes the subject.
    """
    scores = _edit_scores(f, has_image=True)
    if not f.has("style"):
        scores[Intent.STYLE_TRANSFER] = 0
    best = max(scores, key=lambda k: scores[k])
    if not scores[best]:
        return None
    margin = scores[best] - sorted(scores.values())[-2]
    return best, round(min(0.95, 0.55 + 0.1 * margin), 2)


def _angles(features: Features) -> tuple[str, ...]:
    if len(features.angles) >= 2 or (features.angles and not features.multiview):
        return features.angles
    if features.multiview.startswith("n"):
        return views(int(features.multiview[1:]))
    return ALL_SIDES if features.multiview == "all" else DEFAULT_VIEWS


def views(count: int) -> tuple[str, ...]:
    """`count` views of one subject, in the canonical order: 2 the two three-quarters, 3 front,
    side and rear, 4 the four sides, 5 all sides, then top and the right-hand views."""
    if count <= 2:
        return ("front_three_quarter", "rear_three_quarter")
    if count == 3:
        return DEFAULT_VIEWS
    if count == 4:
        return ("front", "side", "rear", "side_right")
    wanted = set(ALL_SIDES) | set(EXTRA_VIEWS[: count - len(ALL_SIDES)])
    return tuple(a for a in ANGLES if a in wanted)


def _decide(f: Features, has_image: bool) -> _Decision:
    """The rules of the module docstring, in their order."""
    if len(f.angles) >= 2 or f.multiview:
        return _Decision(Intent.GENERATE_ANGLES, 0.9 if len(f.angles) >= 2 else 0.8)
    task = any(f.has(t) for t in _TASK_TAGS)
    scores = _edit_scores(f, has_image)
    best = max(scores, key=lambda k: scores[k])
    if _is_question(f, task=task, editing=scores[best] > 0):
        return _Decision(Intent.CHAT, 0.85, "reply.question")
    if scores[best]:
        return _edit(f, best, scores, has_image)
    return _small_talk(f, task) or _new_picture(f, task)


def _edit(f: Features, best: Intent, scores: dict[Intent, int], has_image: bool) -> _Decision:
    if has_image:
        margin = scores[best] - sorted(scores.values())[-2]
        return _Decision(best, min(0.95, 0.55 + 0.1 * margin))
    if f.content:
        return _Decision(Intent.GENERATE_IMAGE, 0.6, "reply.no_image", stands_in=True)
    return _Decision(Intent.CHAT, 0.7, _ATTACH[best])


def _small_talk(f: Features, task: bool) -> _Decision | None:
    if task:
        return None
    pleasantry = next((p for p in _PLEASANTRIES if f.has(p)), "")
    if pleasantry and len(f.content) <= 1:
        return _Decision(Intent.CHAT, 0.9, f"reply.{pleasantry}")
    if f.has("ack") and not f.content:
        return _Decision(Intent.CHAT, 0.8, "reply.ack")
    return None


def _new_picture(f: Features, task: bool) -> _Decision:
    if len(f.angles) == 1 and _is_vehicle(f):
        return _Decision(Intent.GENERATE_ANGLES, 0.75)  # "Camry, three-quarter rear view"
    if f.content:
        return _Decision(Intent.GENERATE_IMAGE, 0.85 if task else 0.7)
    if task or f.has("style") or f.has("img"):
        return _Decision(Intent.GENERATE_IMAGE, 0.5)
    return _Decision(Intent.CHAT, 0.3, "reply.unknown")


def _is_vehicle(f: Features) -> bool:
    return bool(f.vehicle.brand) or f.has("vehicle") or f.has("body")


def _is_question(f: Features, *, task: bool, editing: bool) -> bool:
    """A question about the service, not a polite request ("can you draw a cat?")."""
    if f.question:
        return True
    if editing:
        return False
    asks = f.text.endswith("?")
    drawing = f.has("gen") or f.has("make")
    if f.has("chatverb") and (asks or not (drawing or f.content)):
        return True
    if f.has("style"):
        return False
    # "bạn có vẽ được không?", "can you draw?", "це фото гарне?": a question with nothing
    # named to draw.
    named = any(f.matches[i].tags & _NAMING_TAGS for i in f.content)
    soft = f.soft_question and (not f.content or (asks and not task))
    return soft or (asks and not named and not (task and f.content))


def _edit_scores(f: Features, has_image: bool) -> dict[Intent, int]:
    """How strongly the prompt asks to work on an input image, per image intent."""
    # "Draw a cat on a beach background" describes a new picture; only words that act on a
    # picture ("replace", "put me", "turn into") make it an edit when the user also says "draw".
    drawing = f.has("gen") and not f.has("ref")
    background = f.has("place") or (f.has("bg") and (f.has("bgop") or (has_image and not drawing)))
    # "swap the sky for a starry night", "thay bầu trời", "заміни небо": the sky or the scene
    # of the photo, asked to change; "a dragon in the night sky" stays a new picture.
    swap = f.has("bgop") or f.has("transform") or (f.has("make") and (has_image or f.has("ref")))
    background = background or (f.has("bgalt") and swap)
    bg = _STRONG * background + (1 if background and f.has("bgop") else 0)
    enh = 0 if drawing or not f.has("enh") else _STRONG + f.count("enh") - 1
    style = 0
    transform = f.has("transform")
    if f.has("style"):
        # "make it anime", "зроби в стилі аніме": a style with nothing new to draw.
        bare = not drawing and not f.content and (has_image or f.has("make"))
        if transform or (not drawing and f.has("ref")) or bare:
            style = _STYLE + transform
    elif transform and (f.has("ref") or f.has("img")) and has_image:
        style = 1  # "turn it into a painting": a restyle with no named style
    return {Intent.EDIT_BACKGROUND: bg, Intent.ENHANCE_IMAGE: enh, Intent.STYLE_TRANSFER: style}
