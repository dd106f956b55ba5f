"""The English side of the local analyser: subject, keywords and the refined prompt.

Offline there is no free translation: known words are replaced by their English gloss, and
Vietnamese or Ukrainian words the lexicon does not know are kept as written and reported as
untranslated, so the caller can say so in the response metadata.
"""

from __future__ import annotations

from prompt_svc.intents import Intent, Subject
from prompt_svc.local.features import CONTENT_TAGS, Features, detect_language, extract
from prompt_svc.local.lexicon import Match

_STYLE_PHRASES: dict[str, str] = {
    "anime": "anime style",
    "manga": "manga style",
    "cartoon": "cartoon style",
    "pixar": "Pixar-style 3D animation",
    "disney": "Disney animation style",
    "ghibli": "Studio Ghibli style",
    "watercolor": "watercolor painting",
    "oil painting": "oil painting",
    "pencil": "pencil sketch",
    "sketch": "sketch",
    "van gogh": "Van Gogh style painting",
    "cyberpunk": "cyberpunk style",
    "steampunk": "steampunk style",
    "pixel art": "pixel art",
    "comic": "comic book style",
    "black and white": "black and white photography",
    "photorealistic": "photorealistic",
    "3d": "3D render",
    "minimalist": "minimalist style",
    "ink wash": "ink wash painting",
    "silk painting": "Vietnamese silk painting",
    "lacquer painting": "Vietnamese lacquer painting",
}
_COMPOSITION: dict[str, str] = {
    "person": "medium shot, subject in focus",
    "animal": "eye-level shot",
    "vehicle": "three-quarter front view, clean composition",
    "scene": "wide shot",
    "object": "centered composition",
    "": "balanced composition",
}
_LIGHTING: dict[str, str] = {
    "person": "soft lighting",
    "animal": "natural light",
    "vehicle": "soft studio lighting",
    "scene": "golden hour lighting",
    "object": "soft even lighting",
    "": "soft lighting",
}
ENHANCEMENTS: dict[str, str] = {
    "upscale": "upscaled to high resolution",
    "sharpen": "sharpened, crisp details",
    "restore": "restored, scratches and damage repaired",
    "denoise": "noise removed",
    "relight": "balanced brighter exposure",
    "colorize": "naturally colorized",
    "enhance": "improved overall quality",
}
_QUALITY = "highly detailed, high quality"
_BODY_DISPLAY = {"suv": "SUV"}
_VEHICLE_TAGS = frozenset({"brand", "vehicle", "body", "color", "sporty"})
# Edges of an English phrase worth keeping: what describes the picture, not the request.
_PHRASE_TAGS = CONTENT_TAGS | {"style", "color", "quality"}
_MODIFIER_TAGS = frozenset({"adj", "color"})
_SCENE_TAGS = frozenset({"noun:scene", "noun:object"})
_NIGHT = frozenset({"night", "moon", "stars", "starry sky", "galaxy", "space"})


def style_phrase(style: str, features: Features) -> str:
    """The style to render in: the caller's `style` first, else a style word of the prompt."""
    style = " ".join(style.split())
    if style:
        # A bare style name ("anime", "Ghibli", "аніме") gets its full wording.
        given = extract(style, detect_language(style))
        if given.has("style") and not given.content:
            return _phrase(given.first("style"))
        return style if "style" in style.casefold() else f"{style} style"
    key = features.first("style")
    return _phrase(key) if key else ""


def _phrase(key: str) -> str:
    return _STYLE_PHRASES.get(key, f"{key} style")


def build_subject(features: Features, *, own_words: bool) -> Subject:
    """What the picture is of, with the vehicle fields when it is a car.

    `own_words` keeps the user's English wording ("cute girl on the beach") instead of a list
    of glosses; it suits a plain English request to draw something.
    """
    vehicle = features.vehicle
    category = "vehicle" if vehicle.brand else _first_category(features)
    text = _subject_text(features, category, own_words=own_words)
    return Subject(
        text=text,
        category=category,
        brand=vehicle.brand,
        model=vehicle.model,
        year=vehicle.year,
        color=features.first("color"),
        body_type=said_body(features) or vehicle.body,
    )


def said_body(features: Features) -> str:
    """The body type the prompt names: a body word, or "sports" / "спортивний" with a car."""
    body = features.first("body")
    if body:
        return body
    if features.has("sporty") and (features.has("vehicle") or features.vehicle.brand):
        return "sports car"
    return ""


def keywords(features: Features) -> tuple[str, ...]:
    """Lower-case English keywords (original words where the lexicon has none)."""
    seen: dict[str, None] = {}
    vehicle = features.vehicle
    for i, match in enumerate(features.matches):
        if i in vehicle.used:
            # The model is one keyword ("cr-v"), not its pieces.
            word = match.gloss if "brand" in match.tags else vehicle.model
        elif match.tags & (CONTENT_TAGS | {"style", "color"}) and not _is_number(match):
            word = features.words(match) if "unk" in match.tags else match.gloss
        else:
            continue
        seen.setdefault(word.casefold(), None)
    return tuple(seen)


def untranslated(features: Features) -> tuple[str, ...]:
    """Vietnamese or Ukrainian words of the subject that the lexicon could not translate."""
    if features.lang == "en":
        return ()
    skip = features.vehicle.used
    found: dict[str, None] = {}
    for i in features.content:
        match = features.matches[i]
        if "unk" in match.tags and i not in skip and not _is_number(match):
            found.setdefault(features.words(match), None)
    return tuple(found)


def refine(intent: Intent, features: Features, subject: Subject, style: str, topic: str) -> str:
    """An English prompt for the image model (or editing instruction for image intents)."""
    look = style_phrase(style, features)
    text = _with_topic(subject.text, topic)
    lighting = _lighting(features, subject.category)
    if intent is Intent.GENERATE_ANGLES:
        parts = [
            text or "the subject",
            look,
            "identical design, colors and proportions in every view",
            "neutral studio background",
            lighting or "soft even lighting",
        ]
    elif intent is Intent.STYLE_TRANSFER:
        parts = [
            f"{look or 'restyled'} version of the input image",
            "same subject, pose and composition",
            text,
        ]
    elif intent is Intent.EDIT_BACKGROUND:
        parts = [_background_instruction(features, text), "subject unchanged", "natural edges"]
    elif intent is Intent.ENHANCE_IMAGE:
        kinds = dict.fromkeys(ENHANCEMENTS[k] for k in features.glosses.get("enh", ["enhance"]))
        parts = ["enhanced version of the input image", *kinds, "faithful to the original"]
    else:
        text = text or "an imaginative scene"
        if _style_said(features, style, text):
            look = ""  # "anime girl ..." already says it
        parts = [text, look, _COMPOSITION[subject.category], lighting]
    return ", ".join(p for p in (*parts, _QUALITY) if p)


def _lighting(features: Features, category: str) -> str:
    if features.has("light"):
        return ""  # the user chose it ("dramatic lighting", "ánh sáng kịch tính")
    scenery = {m.gloss for m in features.matches if m.tags & _SCENE_TAGS}
    if scenery & _NIGHT:
        return "moody night lighting"
    return _LIGHTING[category]


def _style_said(features: Features, style: str, text: str) -> bool:
    said = style.strip() or next(
        (features.words(m) for m in features.matches if "style" in m.tags), ""
    )
    return bool(said) and said.casefold() in text.casefold()


def _background_instruction(features: Features, target: str) -> str:  # noqa: PLR0911
    ops = features.glosses.get("bgop", [])
    # "make the background blurry" / "фон розмитим": the blur adjective, not a sharpen request.
    if "blur" in ops or "sharpen" in features.glosses.get("enh", []):
        return "background blurred with soft bokeh, subject in sharp focus"
    named = any(
        tag.startswith("noun:") for i in features.content for tag in features.matches[i].tags
    )
    swapped = features.first("bgalt")
    if swapped == "sky":
        rest = ", ".join(p for p in target.split(", ") if p and p != "sky")
        return f"sky replaced with {rest or 'a dramatic sky'}"
    if target and named:
        return f"background replaced with {target}"
    color = features.first("color")
    if color:
        return f"plain {color} background"
    if "transparent" in ops or "remove" in ops:
        return "background removed, subject isolated on a transparent background"
    if target:
        return f"background replaced with {target}"
    return "background replaced with a clean studio backdrop"


def _with_topic(text: str, topic: str) -> str:
    topic = " ".join(topic.split())
    if not topic:
        return text
    missing = [w for w in topic.split() if w.casefold() not in text.casefold()]
    if not text:
        return topic
    return f"{text}, {' '.join(missing)}" if missing else text


def _first_category(features: Features) -> str:
    """The kind of the first thing named: "a girl next to a car" is about a person."""
    for i in features.content:
        tags = features.matches[i].tags
        if "vehicle" in tags or "body" in tags:
            return "vehicle"
        for tag in tags:
            if tag.startswith("noun:"):
                return tag.removeprefix("noun:")
    return ""


def _subject_text(features: Features, category: str, *, own_words: bool) -> str:
    vehicle_part = ""
    skip: set[int] = set()
    if category == "vehicle":
        vehicle_part, skip = _vehicle_text(features)
    if own_words:
        if not skip:
            return _english_phrase(features, 0, len(features.matches), trim_start=True)
        before = _english_phrase(features, 0, min(skip), trim_start=True)
        after = _english_phrase(features, max(skip) + 1, len(features.matches), trim_start=False)
        return ", ".join(p for p in (before, vehicle_part, after) if p)
    rest = _gloss_phrase(features, skip)
    return ", ".join(p for p in (vehicle_part, rest) if p)


def _vehicle_text(features: Features) -> tuple[str, set[int]]:
    vehicle = features.vehicle
    year = str(vehicle.year) if vehicle.year else ""
    body = said_body(features)
    noun = "" if vehicle.brand or body else features.first("vehicle")
    head = " ".join(
        p for p in (year, vehicle.brand, vehicle.model, _BODY_DISPLAY.get(body, body), noun) if p
    )
    color = features.first("color")
    text = f"{head}, {color} paint" if color else head
    used = set(vehicle.used)
    for i, match in enumerate(features.matches):
        if match.tags & _VEHICLE_TAGS or (year and features.words(match) == year):
            used.add(i)
    return text, used


def _english_phrase(features: Features, start: int, stop: int, *, trim_start: bool) -> str:
    """The user's own words in matches [start, stop), without the request around them."""
    matches = features.matches
    keep = [i for i in range(start, stop) if matches[i].tags & _PHRASE_TAGS]
    if not keep:
        return ""
    first = keep[0] if trim_start else start
    text = features.text[features.tokens[matches[first].start].start : _end(features, keep[-1])]
    return text.lower() if text.isupper() else text


def _end(features: Features, index: int) -> int:
    return features.tokens[features.matches[index].end - 1].end


def _gloss_phrase(features: Features, skip: set[int]) -> str:
    """Content words in English, grouped into the runs the user wrote them in."""
    chunks: list[list[Match]] = []
    previous = -2
    colors = (i for i, m in enumerate(features.matches) if "color" in m.tags)
    for i in sorted({*features.content, *colors}):
        if i in skip:
            continue
        if i != previous + 1 or not chunks:
            chunks.append([])
        chunks[-1].append(features.matches[i])
        previous = i
    words = [_chunk_text(features, chunk) for chunk in chunks]
    return ", ".join(w for w in words if w)


def _chunk_text(features: Features, chunk: list[Match]) -> str:
    ordered: list[Match] = []
    for match in chunk:
        # Vietnamese puts adjectives after the noun ("tóc hồng"); English before ("pink hair").
        follows_noun = bool(ordered) and not ordered[-1].tags & _MODIFIER_TAGS
        if features.lang == "vi" and match.tags & _MODIFIER_TAGS and follows_noun:
            ordered.insert(len(ordered) - 1, match)
        else:
            ordered.append(match)
    return " ".join(features.words(m) if "unk" in m.tags else m.gloss for m in ordered)


def _is_number(match: Match) -> bool:
    return "unk" in match.tags and match.gloss.replace("/", "").isdigit()
