"""Tests of the local intent analyser (the offline fallback of the prompt service)."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mesh.i18n import replies
from prompt_svc.intents import ANGLES, Analysis, Context, FollowUp, Intent, Subject, Turn
from prompt_svc.local import MODEL_NAME, NO_IMAGE_REPLY, NO_SOURCE_REPLY, analyze, detect_language
from prompt_svc.local.features import decisive_language
from prompt_svc.local.followup import changed

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data"
ALL_SIDES = ("front", "front_three_quarter", "side", "rear_three_quarter", "rear")


def _bench() -> ModuleType:
    # bench/ is a folder of scripts, not a package: load the script by its path.
    path = ROOT / "bench" / "intent_accuracy.py"
    spec = importlib.util.spec_from_file_location("intent_accuracy", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def test_seed_example() -> None:
    result = analyze(
        "I want a cute girl on the beach", style="anime", lang="en", topic="girl beach"
    )

    assert result.intent is Intent.GENERATE_IMAGE
    for word in ("anime", "girl", "beach"):
        assert word in result.refined_prompt
    assert result.lang == "en"
    assert result.reply == ""
    assert result.subject.category == "person"
    assert {"girl", "beach"} <= set(result.keywords)


@pytest.mark.parametrize(
    ("prompt", "has_image", "intent"),
    [
        # English
        ("a dragon flying over a castle at night", False, Intent.GENERATE_IMAGE),
        ("show me this sneaker from every angle", False, Intent.GENERATE_ANGLES),
        ("turn this photo into a watercolor painting", True, Intent.STYLE_TRANSFER),
        ("replace the background with a snowy forest", True, Intent.EDIT_BACKGROUND),
        ("upscale it and make it sharper", True, Intent.ENHANCE_IMAGE),
        ("hello! what can you do?", False, Intent.CHAT),
        # Vietnamese
        ("vẽ một chú mèo ngủ trên ghế", False, Intent.GENERATE_IMAGE),
        ("chụp xe từ nhiều góc", False, Intent.GENERATE_ANGLES),
        ("biến ảnh này thành tranh sơn dầu", True, Intent.STYLE_TRANSFER),
        ("xóa phông nền giúp mình", True, Intent.EDIT_BACKGROUND),
        ("tăng độ phân giải ảnh", True, Intent.ENHANCE_IMAGE),
        ("cảm ơn bạn nhé", False, Intent.CHAT),
        # Ukrainian
        ("намалюй лисицю в осінньому лісі", False, Intent.GENERATE_IMAGE),
        ("покажи авто з усіх боків", False, Intent.GENERATE_ANGLES),
        ("зроби в стилі аніме", True, Intent.STYLE_TRANSFER),
        ("заміни фон на море", True, Intent.EDIT_BACKGROUND),
        ("покращ якість фото", True, Intent.ENHANCE_IMAGE),
        ("привіт! як завантажити фото?", False, Intent.CHAT),
    ],
)
def test_each_intent_in_each_language(prompt: str, has_image: bool, intent: Intent) -> None:
    result = analyze(prompt, has_image=has_image)

    assert result.intent is intent
    assert 0.0 < result.confidence <= 1.0


def test_a_style_word_without_an_image_is_a_parameter() -> None:
    assert analyze("anime girl with pink hair").intent is Intent.GENERATE_IMAGE
    assert analyze("make it anime", has_image=True).intent is Intent.STYLE_TRANSFER


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("change the background of my car photo to a desert", "en"),
        ("upscale a photo of a sunset over the ocean", "en"),
        ("đổi nền ảnh chiếc xe thành sa mạc", "vi"),
        ("заміни фон фото машини на пустелю", "uk"),
    ],
)
def test_an_edit_without_an_image_that_describes_a_picture_generates_one(
    prompt: str, lang: str
) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_IMAGE
    assert result.lang == lang
    assert result.reply == replies("reply.no_image", lang)
    if lang == "en":
        assert result.reply == NO_IMAGE_REPLY
        assert "No image was attached" in result.reply


@pytest.mark.parametrize(
    ("prompt", "edit", "lang"),
    [
        ("enhance it", "enhanceImage", "en"),
        ("remove the background", "editBackground", "en"),
        ("make it anime", "styleTransfer", "en"),
        ("xóa phông nền", "editBackground", "vi"),
        ("làm nét ảnh giúp mình", "enhanceImage", "vi"),
        ("покращ якість", "enhanceImage", "uk"),
        ("зроби в стилі аніме", "styleTransfer", "uk"),
        ("прибери фон", "editBackground", "uk"),
    ],
)
def test_an_edit_without_an_image_and_nothing_to_draw_asks_for_it(
    prompt: str, edit: str, lang: str
) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.CHAT
    assert result.lang == lang
    assert result.reply == replies(f"reply.attach.{edit}", lang)
    assert ("attach" in result.reply) is (lang == "en")


@pytest.mark.parametrize(
    "variants",
    [
        ("xóa phông nền", "xoa phong nen", "XÓA PHÔNG NỀN", "Xoá Phông Nền"),
        ("vẽ xe từ nhiều góc", "ve xe tu nhieu goc", "VẼ XE TỪ NHIỀU GÓC"),
        ("Зроби в стилі аніме", "ЗРОБИ В СТИЛІ АНІМЕ", "зроби в стилi анiме"),
        ("Remove The Background", "REMOVE THE BACKGROUND", "remove the background"),
    ],
)
def test_matching_ignores_case_and_diacritics(variants: tuple[str, ...]) -> None:
    results = {analyze(v, has_image=True).intent for v in variants}

    assert len(results) == 1


@pytest.mark.parametrize(
    ("prompt", "intent"),
    [
        ("remvoe the backgorund", Intent.EDIT_BACKGROUND),
        ("enchance it", Intent.ENHANCE_IMAGE),
        ("make it anmie", Intent.STYLE_TRANSFER),
    ],
)
def test_one_typo_in_a_known_word_is_forgiven(prompt: str, intent: Intent) -> None:
    assert analyze(prompt, has_image=True).intent is intent


def test_real_words_one_letter_apart_are_not_typos() -> None:
    # "remote" is not "remove": t and v are not neighbour keys.
    result = analyze("an illustration about remote work", has_image=True)

    assert result.intent is Intent.GENERATE_IMAGE
    assert "remote" in result.keywords


def test_ukrainian_apostrophe_variants_are_one_word() -> None:
    spellings = ("кав'ярня", "кав’ярня", "кавʼярня", "кавярня")
    results = [analyze(f"намалюй затишну {s} вночі", lang="uk") for s in spellings]

    assert {r.keywords for r in results} == {results[0].keywords}
    assert "cafe" in results[0].keywords


def test_vietnamese_diacritics_tell_folded_twins_apart() -> None:
    # "đậu" (parked) and "đâu" (where) fold to the same letters; typed marks decide.
    parked = analyze("một chiếc xe VinFast màu đỏ đậu trước nhà")
    question = analyze("ảnh của mình đâu rồi?")

    assert parked.intent is Intent.GENERATE_IMAGE
    assert "parked" in parked.keywords
    assert question.intent is Intent.CHAT


def test_renault_clio_subject_and_angles() -> None:
    result = analyze("2019 Renault Clio blue hatchback, front side rear")

    assert result.intent is Intent.GENERATE_ANGLES
    assert result.angles == ("front", "side", "rear")
    assert result.subject == Subject(
        text="2019 Renault Clio hatchback, blue paint",
        category="vehicle",
        brand="Renault",
        model="Clio",
        year=2019,
        color="blue",
        body_type="hatchback",
    )
    assert result.refined_prompt.startswith("2019 Renault Clio hatchback, blue")


@pytest.mark.parametrize(
    ("prompt", "angles"),
    [
        (
            "Renault Clio 2019 xanh hatchback, phía trước, bên hông, phía sau",
            ("front", "side", "rear"),
        ),
        (
            "renault clio 2019 mau xanh hatchback, dang truoc, ngang, dang sau",
            ("front", "side", "rear"),
        ),
        ("Renault Clio 2019 синій хетчбек, спереду, збоку, ззаду", ("front", "side", "rear")),
        (
            "Рено Clio 2019 синій хетчбек, вид ззаду і три чверті спереду",
            ("rear", "front_three_quarter"),
        ),
    ],
)
def test_renault_clio_in_vietnamese_and_ukrainian(prompt: str, angles: tuple[str, ...]) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_ANGLES
    assert result.angles == angles
    subject = result.subject
    assert (subject.brand, subject.model, subject.year) == ("Renault", "Clio", 2019)
    assert (subject.color, subject.body_type) == ("blue", "hatchback")
    assert result.untranslated_terms == ()


@pytest.mark.parametrize(
    ("prompt", "angles"),
    [
        ("show the car from all sides", ALL_SIDES),
        ("cho mình xem chiếc xe ở mọi góc độ", ALL_SIDES),
        ("покажи машину з усіх боків", ALL_SIDES),
        ("different angles of the same red VinFast VF8", ("front", "side", "rear")),
        ("ve doi giay tu nhieu goc nhin", ("front", "side", "rear")),
        ("BMW X5 з різних ракурсів", ("front", "side", "rear")),
        ("I need a white Tesla Model 3 from the front, 3/4 and from behind", None),
        ("a chair: bird's eye view, profile, back", ("top", "side", "rear")),
    ],
)
def test_angles_in_order_or_defaults(prompt: str, angles: tuple[str, ...] | None) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_ANGLES
    assert set(result.angles) <= set(ANGLES)
    if angles is not None:
        assert result.angles == angles
    else:
        assert result.angles == ("front", "front_three_quarter", "rear")


def test_one_place_word_is_not_a_request_for_views() -> None:
    result = analyze("a 2021 Toyota Camry parked in front of a modern house")

    assert result.intent is Intent.GENERATE_IMAGE
    assert result.angles == ()
    assert (result.subject.brand, result.subject.model) == ("Toyota", "Camry")
    assert result.subject.year == 2021


@pytest.mark.parametrize(
    ("prompt", "lang"),
    [
        ("I want a cute girl on the beach", "en"),
        ("remove bg", "en"),
        ("a cat on the sofa", "en"),
        ("vẽ cho tôi một cô gái", "vi"),
        ("ve mot con meo deo kinh ram", "vi"),
        ("cam on", "vi"),
        ("tang chat luong anh", "vi"),
        ("намалюй кота", "uk"),
        ("зроби в стилi анiме", "uk"),
        ("Renault Clio 2019 синій", "uk"),
    ],
)
def test_detect_language(prompt: str, lang: str) -> None:
    assert detect_language(prompt) == lang
    assert analyze(prompt).lang == lang


@pytest.mark.parametrize(
    ("prompt", "decided"),
    [
        ("a red car on the beach", "en"),
        ("ve con meo", "vi"),
        ("vẽ cho tôi chiếc xe", "vi"),
        ("намалюй кота", "uk"),
        ("hello", ""),  # a word of both tables
        ("Toyota Camry 2020", ""),  # names and numbers tell nothing
        ("ve anime girl", ""),  # fewer Vietnamese-only words than English-only ones
        ("", ""),
    ],
)
def test_decisive_language(prompt: str, decided: str) -> None:
    assert decisive_language(prompt) == decided
    assert detect_language(prompt) == (decided or "en")
    for hint in ("en", "vi", "uk"):
        # The text's own language reads it, the hint answers; an undecided text takes the hint.
        hinted = analyze(prompt or "?", lang=hint)
        assert hinted.lang == hint
        read = analyze(prompt or "?", lang=decided or hint)
        assert (hinted.intent, hinted.refined_prompt) == (read.intent, read.refined_prompt)


def test_given_language_is_used_and_unknown_one_is_detected() -> None:
    assert analyze("xe toyota", lang="vi").lang == "vi"
    assert analyze("намалюй кота", lang="fr").lang == "uk"


def test_refined_prompt_is_english_and_lists_what_it_kept() -> None:
    vi = analyze("vẽ cô gái dễ thương trên bãi biển ở Phú Quốc")
    uk = analyze("намалюй кота в скафандрі на барбершопі")

    assert vi.refined_prompt.startswith("cute girl, beach")
    assert "Phú" in vi.refined_prompt
    assert vi.untranslated_terms == ("Phú", "Quốc")
    assert "cat" in uk.keywords
    assert uk.untranslated_terms == ("барбершопі",)


def test_keywords_are_lower_case_english_without_stop_words() -> None:
    result = analyze("Draw A Golden Retriever Puppy In The Snow")

    assert result.keywords == ("golden retriever", "puppy", "snow")


def test_vehicle_prompt_wording() -> None:
    result = analyze("vẽ xe Toyota Camry 2020 màu trắng đậu trên đường")

    assert result.intent is Intent.GENERATE_IMAGE
    assert result.refined_prompt.startswith("2020 Toyota Camry, white paint")
    assert result.subject.category == "vehicle"


@pytest.mark.parametrize(
    ("prompt", "reply_part"),
    [
        ("hi", "Describe the picture"),
        ("thanks, that's perfect!", "welcome"),
        ("how do I upload a photo?", "I create images"),
        ("i don't like it", "Sorry"),
    ],
)
def test_chat_keeps_the_text_and_replies(prompt: str, reply_part: str) -> None:
    result = analyze(f"  {prompt}  ")

    assert result.intent is Intent.CHAT
    assert result.refined_prompt == prompt
    assert reply_part in result.reply
    assert result.angles == ()


def test_empty_prompt_is_chat() -> None:
    result = analyze("   ")

    assert result.intent is Intent.CHAT
    assert result.refined_prompt == ""


def test_analysis_is_deterministic_and_frozen() -> None:
    first = analyze("chụp xe Honda CR-V màu đen ở mọi góc độ")

    assert analyze("chụp xe Honda CR-V màu đen ở mọi góc độ") == first
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.intent = Intent.CHAT  # type: ignore[misc]
    assert isinstance(first, Analysis)
    assert MODEL_NAME == "local-rules v1"


def test_intent_values_and_needs_image() -> None:
    assert [i.value for i in Intent] == [
        "generateImage",
        "generateAngles",
        "styleTransfer",
        "editBackground",
        "enhanceImage",
        "chat",
    ]
    needing = {i for i in Intent if i.needs_image}
    assert needing == {Intent.STYLE_TRANSFER, Intent.EDIT_BACKGROUND, Intent.ENHANCE_IMAGE}


def test_bench_prints_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labelled = tmp_path / "intents_tiny.jsonl"
    labelled.write_text(
        '{"prompt": "hi", "lang": "en", "has_image": false, "intent": "chat"}\n'
        '{"prompt": "xóa phông", "lang": "vi", "has_image": true, "intent": "enhanceImage"}\n',
        encoding="utf-8",
    )

    assert _bench().main([str(labelled)]) == 0
    out = capsys.readouterr().out
    assert "overall accuracy: 50.0% (1/2)" in out
    assert "confusion matrix" in out
    assert "'xóa phông': expected enhanceImage, got editBackground" in out
    assert "p99" in out


def test_accuracy_on_every_labelled_set() -> None:
    paths = sorted(DATA.glob("intents_*.jsonl"))
    assert paths, "no labelled sets in tests/data"
    report = _bench().evaluate(paths, repeat=1)

    assert report.total >= 180
    assert report.accuracy >= 0.95
    for lang in ("en", "vi", "uk"):
        assert report.lang_accuracy(lang) >= 0.90, lang


def test_follow_up_accuracy_on_the_labelled_sets() -> None:
    paths = sorted(DATA.glob("intents_followup_*.jsonl"))
    assert len(paths) == 2, "dev and held-out follow-up sets"
    report = _bench().evaluate(paths, repeat=1)

    assert sum(report.follow_ups.values()) >= 140
    for lang in ("en", "vi", "uk"):
        assert report.follow_up_accuracy(lang) >= 0.95, lang


def test_only_the_last_turns_of_a_long_context_are_read() -> None:
    car = Turn(
        prompt="a red car",
        intent=Intent.GENERATE_IMAGE,
        subject=Subject(text="red car", category="vehicle", color="red"),
        image_urls=("u",),
    )
    chat = Turn(prompt="ok", intent=Intent.CHAT)
    old = analyze("another one", context=Context((car, *[chat] * 19)))
    recent = analyze("another one", context=Context((*[chat] * 15, car, *[chat] * 4)))

    assert (old.intent, old.follow_up, old.reply) == (Intent.CHAT, FollowUp.NONE, NO_SOURCE_REPLY)
    assert (recent.follow_up, recent.source_turn) == (FollowUp.VARIATION, 15)


@pytest.mark.parametrize(
    ("before", "change", "after"),
    [
        (
            Subject(text="red sports car", category="vehicle", color="red"),
            {"color": "blue"},
            "blue sports car",
        ),
        (
            Subject(text="cute cat on a sofa", category="animal"),
            {"color": "white"},
            "white cute cat on a sofa",
        ),
        (
            Subject(
                text="2020 Toyota Camry",
                category="vehicle",
                brand="Toyota",
                model="Camry",
                year=2020,
            ),
            {"brand": "BMW", "model": "X5", "year": 2024},
            "2024 BMW X5",
        ),
        (
            Subject(
                text="Kia Morning hatchback", category="vehicle", brand="Kia", body_type="hatchback"
            ),
            {"body_type": "suv"},
            "Kia Morning SUV",
        ),
    ],
)
def test_a_changed_subject_says_so(before: Subject, change: dict[str, Any], after: str) -> None:
    result = changed(before, **change)

    assert result.text == after
    for key, value in change.items():
        assert getattr(result, key) == value
