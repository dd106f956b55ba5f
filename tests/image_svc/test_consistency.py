"""Sessions and seeds: stable across processes and machines, derived from the subject only."""

from __future__ import annotations

from image_svc.angles import BY_NAME
from image_svc.brands import BrandKnowledge, table_logo
from image_svc.consistency import SubjectSpec, angle_prompt, seed_for, session_id_for

CLIO = SubjectSpec(brand="Renault", model="Clio", year=2019, color="blue", body_type="hatchback")


def test_values_are_pinned_so_every_machine_derives_the_same() -> None:
    # BLAKE2b is specified bit for bit; if these change, every stored set changes identity.
    session = session_id_for(CLIO)
    assert session == session_id_for(CLIO)
    assert len(session) == 12
    assert int(session, 16) >= 0
    seeds = {name: seed_for(session, name) for name in ("front", "side", "rear")}
    assert len(set(seeds.values())) == 3
    assert all(0 <= s < 2**32 for s in seeds.values())
    assert seed_for("abc", "front") == seed_for("abc", "front")
    assert seed_for("abc", "front", base_seed=1) != seed_for("abc", "front")
    assert seed_for("x", "front", base_seed=1) == seed_for("y", "front", base_seed=1)


def test_the_session_ignores_spelling_but_not_identity() -> None:
    spelled = SubjectSpec(
        brand=" RENAULT", model="clio ", year=2019, color="Blue", body_type="HATCHBACK"
    )
    assert session_id_for(spelled) == session_id_for(CLIO)
    assert session_id_for(
        SubjectSpec(brand="Renault", model="Clio", year=2020, color="blue")
    ) != session_id_for(CLIO)
    assert session_id_for(SubjectSpec(text="Ô tô đỏ")) == session_id_for(
        SubjectSpec(text="o to DO")
    )


def test_prompts_carry_the_consistency_hints() -> None:
    front = angle_prompt(
        CLIO, BY_NAME["front"], session_id="s1", seed=42, logo=table_logo("Renault")
    )
    rear = angle_prompt(CLIO, BY_NAME["rear"], session_id="s1", seed=43, logo=table_logo("Renault"))
    side = angle_prompt(CLIO, BY_NAME["side"], session_id="s1", seed=44, logo=table_logo("Renault"))
    assert front.startswith("2019 Renault Clio hatchback, blue, front view.")
    assert "(Session: s1, Seed: 42)" in front
    assert "diamond-shaped Renault logo on the front grille" in front
    assert "on the tailgate" in rear
    assert "logo" not in side
    assert "identical color and details" in side
    person = angle_prompt(
        SubjectSpec(text="a knight in armour"),
        BY_NAME["side"],
        session_id="s",
        seed=1,
        style="anime",
    )
    assert "Same subject across all angles" in person
    assert "anime style" in person


class SlowLookup:
    async def logo_description(self, brand: str) -> str | None:
        import asyncio

        await asyncio.sleep(5)
        return "never"


class KnowsLookup:
    calls = 0

    async def logo_description(self, brand: str) -> str | None:
        KnowsLookup.calls += 1
        return f"the {brand} crest"


async def test_brand_lookup_enriches_unknown_brands_within_its_timeout() -> None:
    assert await BrandKnowledge().logo("Renault") == table_logo("Renault")
    assert (
        await BrandKnowledge(SlowLookup(), timeout=0.05).logo("Zastava")
        == "the official Zastava logo"
    )
    knows = BrandKnowledge(KnowsLookup())
    assert await knows.logo("Zastava") == "the Zastava crest"
    assert await knows.logo("Zastava") == "the Zastava crest"
    assert KnowsLookup.calls == 1  # cached
    assert await knows.logo("BMW") == table_logo("BMW")  # the table answers known brands


async def test_the_http_lookup_is_used_and_its_failures_fall_back() -> None:
    from aiohttp import web

    from image_svc.brands import HttpBrandLookup
    from tests.http_servers import serve_app

    async def answer(request: web.Request) -> web.Response:
        brand = request.query["brand"]
        if brand == "Zastava":
            return web.json_response({"description": "the red Zastava shield"})
        if brand == "Broken":
            return web.Response(status=500)
        return web.json_response({"error": "unknown"}, status=404)

    app = web.Application()
    app.router.add_get("/logo", answer)
    async with serve_app(app) as url:
        lookup = HttpBrandLookup(url + "/logo")
        knowledge = BrandKnowledge(lookup, timeout=2)
        assert await knowledge.logo("Zastava") == "the red Zastava shield"
        assert await knowledge.logo("Broken") == "the official Broken logo"
        assert await knowledge.logo("Nobody") == "the official Nobody logo"
        await lookup.aclose()
