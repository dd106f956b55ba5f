"""The vehicle catalogue, the view phrases, sky edits and the words of vi/uk descriptions.

Each test pins a class of prompts (a model named without its make, a three-quarter joined with
the rear word after it, N views, ...) with several members of the class in en / vi / uk.
"""

from __future__ import annotations

import pytest

from prompt_svc.intents import ANGLES, Intent
from prompt_svc.local import analyze, catalogue
from prompt_svc.local.text import tokenize

ALL_SIDES = ("front", "front_three_quarter", "side", "rear_three_quarter", "rear")


def test_the_catalogue_covers_the_global_vietnamese_and_ukrainian_markets() -> None:
    models = catalogue.MODELS
    names = {(m.brand, m.name) for m in models}

    assert len(models) >= 400
    for wanted in [
        ("VinFast", "VF8"),
        ("VinFast", "Fadil"),
        ("Toyota", "Innova"),
        ("Mitsubishi", "Xpander"),
        ("Lada", "2107"),
        ("Lada", "Niva"),
        ("ZAZ", "Tavria"),
        ("ZAZ", "Zaporozhets"),
        ("Citroën", "C3"),
        ("Renault", "Clio"),
        ("Tesla", "Model X"),
    ]:
        assert wanted in names
    for model in models:
        assert model.body in catalogue.BODY_TYPES, model
        assert 1900 <= model.first_year <= 2030, model
        assert model.last_year == 0 or model.first_year <= model.last_year, model
    for spellings in catalogue.BRANDS.values():
        assert spellings, "every make has a spelling"


def test_makes_have_latin_and_cyrillic_spellings() -> None:
    for text, brand in [
        ("Тойота", "Toyota"),
        ("Сітроен", "Citroën"),
        ("Citroen", "Citroën"),
        ("Citroën", "Citroën"),
        ("Шкода", "Skoda"),
        ("Škoda", "Skoda"),
        ("Фольксваген", "Volkswagen"),
        ("ВАЗ", "Lada"),
        ("Жигулі", "Lada"),
        ("ЗАЗ", "ZAZ"),
        ("Вінфаст", "VinFast"),
    ]:
        hits = catalogue.find(tokenize(f"{text} Z1"))
        assert hits
        assert hits[0].brand == brand, text


@pytest.mark.parametrize(
    ("prompt", "brand", "model", "body"),
    [
        ("silver Corolla", "Toyota", "Corolla", "sedan"),
        ("model x in white", "Tesla", "Model X", "suv"),
        ("Prado 150 black", "Toyota", "Prado 150", "suv"),
        ("Sonata 2021", "Hyundai", "Sonata", "sedan"),
        ("Elantra màu trắng", "Hyundai", "Elantra", "sedan"),
        ("Рав4 сірий", "Toyota", "RAV4", "suv"),
        ("Citroën C3", "Citroën", "C3", "hatchback"),
        ("green Clio front side rear", "Renault", "Clio", "hatchback"),
        ("a white Xpander by the sea", "Mitsubishi", "Xpander", "minivan"),
        ("xe Innova màu bạc", "Toyota", "Innova", "minivan"),
        ("vẽ VF 8 màu xanh", "VinFast", "VF8", "suv"),
        ("намалюй Таврію", "ZAZ", "Tavria", "hatchback"),
        ("Жигулі 2106 біла", "Lada", "2106", "sedan"),
        ("Москвич 412 червоний", "Moskvich", "412", "sedan"),
        ("БМВ Х5 чорний", "BMW", "X5", "suv"),
        ("crv blue", "Honda", "CR-V", "suv"),
        ("Рено Дастер", "Renault", "Duster", "suv"),
        ("Mercedes C300 white", "Mercedes-Benz", "C300", "sedan"),
    ],
)
def test_a_model_names_its_make_and_body(prompt: str, brand: str, model: str, body: str) -> None:
    subject = analyze(prompt).subject

    assert (subject.brand, subject.model, subject.body_type) == (brand, model, body)
    assert subject.category == "vehicle"


@pytest.mark.parametrize(
    ("prompt", "brand"),
    [
        ("a golf course at sunrise", ""),
        ("Golf GTI in red", "Volkswagen"),
        ("VW Golf", "Volkswagen"),
        ("a blue Golf hatchback", "Volkswagen"),
        ("a wild mustang on the prairie", ""),
        ("1967 Mustang", "Ford"),
        ("a red panda in a tree", ""),
        ("Fiat Panda", "Fiat"),
        ("a night city skyline", ""),
        ("xe Honda City màu đỏ", "Honda"),
        ("поле для гольфу", ""),
        ("фольксваген гольф", "Volkswagen"),
        ("studio ghibli forest", ""),
        ("911 emergency call centre", ""),
        ("Porsche 911", "Porsche"),
    ],
)
def test_names_that_are_also_ordinary_words_need_a_car_context(prompt: str, brand: str) -> None:
    result = analyze(prompt)

    assert result.subject.brand == brand
    assert (result.subject.category == "vehicle") == bool(brand)


def test_car_names_do_not_decide_the_language() -> None:
    assert analyze("Honda CR-V xam: truoc, hong, sau").lang == "vi"
    assert analyze("Xpander mau bac").lang == "vi"
    assert analyze("silver Corolla").lang == "en"


@pytest.mark.parametrize(
    ("prompt", "angles"),
    [
        ("Ford Escape, three-quarter rear and side view", ("rear_three_quarter", "side")),
        ("red sports car, three-quarter rear view", ("rear_three_quarter",)),
        ("Camry, three-quarter view from behind", ("rear_three_quarter",)),
        ("Camry, 3/4 view from the front and rear view", ("front_three_quarter", "rear")),
        ("BMW X5, rear 3/4 and front 3/4", ("rear_three_quarter", "front_three_quarter")),
        ("Audi A6, left and right sides", ("side", "side_right")),
        ("Audi A6, top-down view and profile", ("top", "side")),
        ("Audi A6, bird's-eye view and rear", ("top", "rear")),
        ("Audi A6 from every angle", ALL_SIDES),
        ("Audi A6, 360 view", ALL_SIDES),
        (
            "Honda CR-V góc ba phần tư phía sau và phía trước",
            ("rear_three_quarter", "front"),
        ),
        ("Honda CR-V goc ba phan tu phia sau va phia truoc", ("rear_three_quarter", "front")),
        (
            "xe Vios ba phần tư trước và ba phần tư sau",
            ("front_three_quarter", "rear_three_quarter"),
        ),
        ("xe Vios bên trái và bên phải", ("side", "side_right")),
        ("xe Vios nhìn từ trên xuống và từ phía sau", ("top", "rear")),
        ("xe Vios xoay 360 độ", ALL_SIDES),
        ("Камрі, три чверті ззаду і збоку", ("rear_three_quarter", "side")),
        ("Камрі, три чверті спереду, зверху", ("front_three_quarter", "top")),
        ("Камрі зліва і справа", ("side", "side_right")),
        ("Камрі, 360 градусів", ALL_SIDES),
    ],
)
def test_view_phrases(prompt: str, angles: tuple[str, ...]) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_ANGLES
    assert result.angles == angles
    assert "phần tư" not in result.refined_prompt
    assert "phan tu" not in result.refined_prompt


@pytest.mark.parametrize(
    "prompt",
    [
        "Ford Everest trắng: trước, hông, sau",
        "Honda CR-V xam: truoc, hong, sau",
        "xe Innova màu bạc, trước, bên, sau",
        "Mazda CX-5 do, truoc va sau, ben",
    ],
)
def test_bare_vietnamese_views_in_a_list(prompt: str) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_ANGLES
    assert set(result.angles) <= {"front", "side", "rear"}
    assert len(result.angles) >= 2


@pytest.mark.parametrize(
    "prompt", ["xe Innova đậu trước cửa hàng", "tóc hong", "vẽ con mèo ngồi sau cửa sổ"]
)
def test_one_bare_vietnamese_view_word_is_not_a_request_for_views(prompt: str) -> None:
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_IMAGE
    assert result.angles == ()


@pytest.mark.parametrize("count", range(2, 10))
@pytest.mark.parametrize(
    "template",
    ["show the car in {en} views", "a Kia Rio from {n} angles", "xe Vios {n} góc", "Камрі, {uk}"],
)
def test_a_request_for_n_views_returns_n(count: int, template: str) -> None:
    en = ["two", "three", "four", "five", "six", "seven", "eight", "nine"][count - 2]
    uk = ["два", "три", "чотири", "пять", "шість", "сім", "вісім", "девять"][count - 2]
    uk_noun = "ракурси" if count < 5 else "ракурсів"
    prompt = template.format(en=en, n=count, uk=f"{uk} {uk_noun}")
    result = analyze(prompt)

    assert result.intent is Intent.GENERATE_ANGLES
    assert len(result.angles) == count
    assert len(set(result.angles)) == count
    assert set(result.angles) <= set(ANGLES)
    if count >= 5:
        assert set(ALL_SIDES) <= set(result.angles)  # six views keep the rear three-quarter


@pytest.mark.parametrize(
    ("prompt", "angles"),
    [
        ("kia rio front side rera", ("front", "side", "rear")),
        ("bmw x3 frotn, sdie, rear", ("front", "side", "rear")),
        ("ford focus front, side, bakc", ("front", "side", "rear")),
        ("Кіа Спортейдж, спреду і ззаду", ("front", "rear")),
    ],
)
def test_one_letter_typos_of_view_words_in_a_list(prompt: str, angles: tuple[str, ...]) -> None:
    result = analyze(prompt)

    assert result.angles == angles
    assert "rera" not in result.refined_prompt


def test_a_word_near_a_view_word_alone_is_not_a_view() -> None:
    assert analyze("a wide shot of a lighthouse").angles == ()


@pytest.mark.parametrize(
    "prompt",
    [
        "swap the sky for a starry night",
        "replace the sky with a dramatic sunset",
        "make the sky look stormy",
        "change the scene to a snowy mountain",
        "thay bầu trời thành hoàng hôn",
        "doi bau troi thanh troi dem",
        "đổi bối cảnh sang Tokyo ban đêm",
        "заміни небо на зоряне",
        "заміни обстановку на нічне місто",
    ],
)
def test_sky_and_scene_replacement_on_a_photo_is_a_background_edit(prompt: str) -> None:
    result = analyze(prompt, has_image=True)

    assert result.intent is Intent.EDIT_BACKGROUND
    assert result.untranslated_terms == ()


def test_the_sky_as_part_of_a_new_picture_stays_a_new_picture() -> None:
    assert analyze("draw a dragon in the night sky").intent is Intent.GENERATE_IMAGE
    assert analyze("vẽ bầu trời đầy sao trên núi").intent is Intent.GENERATE_IMAGE
    assert analyze("намалюй зоряне небо над горами").intent is Intent.GENERATE_IMAGE


def test_sky_instruction_names_the_sky() -> None:
    result = analyze("swap the sky for a starry night", has_image=True)

    assert result.refined_prompt.startswith("sky replaced with starry night")


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("намалюй вінтажний спортивний автомобіль", ("sports car", "vintage")),
        ("vẽ một chiếc xe thể thao cổ điển màu đỏ", ("sports car", "red", "vintage")),
        ("намалюй матовий чорний позашляховик", ("matte", "black", "SUV")),
        ("vẽ xe sang trọng màu xanh rêu, sơn nhám", ("luxury", "olive green", "matte")),
        ("намалюй темно-синій седан з хромованими дисками", ("navy blue", "chrome", "rims")),
        ("vẽ chiếc xe bán tải rỉ sét trong rừng u ám", ("pickup", "rusty", "gloomy")),
        ("намалюй таємничий похмурий замок", ("mysterious", "gloomy", "castle")),
        ("vẽ ngôi nhà gỗ ấm cúng thập niên 80", ("cozy", "1980s")),
        ("намалюй мармурову статую в класичному стилі", ("marble", "classic")),
    ],
)
def test_describing_words_are_translated(prompt: str, words: tuple[str, ...]) -> None:
    result = analyze(prompt)

    for word in words:
        assert word in result.refined_prompt, (word, result.refined_prompt)
    for cyrillic_or_vi in ("спортивн", "thể thao", "матов", "nhám", "rỉ sét"):
        assert cyrillic_or_vi not in result.refined_prompt


def test_a_ukrainian_sports_car_is_a_sports_car() -> None:
    subject = analyze("намалюй вінтажний спортивний автомобіль").subject

    assert (subject.category, subject.body_type) == ("vehicle", "sports car")
    assert analyze("дівчина в спортивному костюмі").subject.body_type == ""
