"""The stored form of a message image: what a document from before a field existed reads as."""

from __future__ import annotations

from conversation_svc.model import MessageImage


def test_seed_reproducible_round_trips_and_older_documents_follow_their_provider() -> None:
    drawn = MessageImage(key="single", image_url="u", seed=7, provider="gemini")
    assert MessageImage.from_doc(drawn.to_doc()) == drawn
    seeded = MessageImage(
        key="single", image_url="u", provider="pollinations", seed_reproducible=True
    )
    assert MessageImage.from_doc(seeded.to_doc()).seed_reproducible
    older = {"key": "front", "image_url": "u", "seed": 3}
    assert MessageImage.from_doc({**older, "provider": "mock"}).seed_reproducible
    assert not MessageImage.from_doc({**older, "provider": "openai"}).seed_reproducible
