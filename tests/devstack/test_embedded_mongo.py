"""The embedded database's writes by ``_id`` read one document, and its retryable-write records
are pruned from their oldest end — while every command answers as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pymongo import MongoClient, ReturnDocument
from secantus import storage, transactions

from devstack import embedded_mongo

REPLY = {"ok": 1.0, "n": 1}


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The collections the database reads from end to end while the test runs."""
    seen: list[str] = []
    original = storage.Storage._scan_docs

    def counting(self: Any, db: str, coll: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        seen.append(coll)
        return iter(original(self, db, coll, *args, **kwargs))

    monkeypatch.setattr(storage.Storage, "_scan_docs", counting)
    return seen


@pytest.fixture
def messages(mongo_uri: str) -> Iterator[Any]:
    client: MongoClient[dict[str, Any]] = MongoClient(mongo_uri)
    collection = client["embedded_mongo"][f"messages_{id(client)}"]
    collection.insert_many(
        [{"n": n, "status": "DONE" if n % 2 else "PROCESSING", "images": []} for n in range(300)]
    )
    yield collection
    collection.drop()
    client.close()


def test_guarded_writes_by_id_read_no_collection_and_answer_as_before(
    messages: Any, scans: list[str]
) -> None:
    embedded_mongo.apply()  # as the test session's database has it; a second call is harmless
    target = messages.find_one({"n": 10})
    done = messages.find_one({"n": 11})
    scans.clear()

    before = messages.find_one_and_update(
        {"_id": target["_id"], "status": "PROCESSING", "images.key": {"$ne": "front"}},
        {"$push": {"images": {"key": "front"}}, "$inc": {"version": 1}},
    )
    again = messages.find_one_and_update(
        {"_id": target["_id"], "status": "PROCESSING", "images.key": {"$ne": "front"}},
        {"$push": {"images": {"key": "front"}}},
    )
    refused = messages.update_one({"_id": done["_id"], "status": "PROCESSING"}, {"$set": {"x": 1}})
    after = messages.find_one_and_update(
        {"_id": target["_id"], "status": "PROCESSING"},
        {"$set": {"status": "DONE"}},
        return_document=ReturnDocument.AFTER,
    )
    removed = messages.delete_one({"_id": done["_id"], "status": "DONE"})

    assert scans == []
    assert before["images"] == []  # the document before the push
    assert again is None  # the guard holds: the view is there already
    assert refused.matched_count == 0
    assert after["status"] == "DONE"
    assert after["images"] == [{"key": "front"}]
    assert after["version"] == 1
    assert removed.deleted_count == 1
    assert messages.count_documents({}) == 299


def test_a_filter_with_many_ids_updates_each_match(messages: Any) -> None:
    ids = [d["_id"] for d in messages.find({"n": {"$lt": 3}})]
    result = messages.update_many({"_id": {"$in": ids}, "status": "PROCESSING"}, {"$set": {"x": 1}})
    assert result.modified_count == 2  # n = 0 and 2
    assert messages.count_documents({"x": 1}) == 2


def _registry(clock: list[float]) -> transactions.TransactionRegistry:
    embedded_mongo.apply()
    return transactions.TransactionRegistry(time_func=lambda: clock[0])


def test_stale_retryable_records_are_dropped_and_fresh_ones_replayed() -> None:
    clock = [0.0]
    registry = _registry(clock)
    registry.record_retryable(b"old", 1, b"i", REPLY)
    clock[0] = transactions._RETRYABLE_RECORD_LIFETIME_SECONDS - 1
    registry.record_retryable(b"new", 1, b"i", REPLY)
    clock[0] += 2  # the first is past its lifetime, the second is not
    registry.record_retryable(b"newest", 1, b"i", REPLY)

    assert registry.retryable_reply(b"old", 1, b"i") is None
    assert registry.retryable_reply(b"new", 1, b"i") == REPLY
    assert registry.retryable_reply(b"newest", 1, b"other command") is None


def test_past_the_cap_the_oldest_records_go_and_a_rewritten_one_counts_as_new(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transactions, "_RETRYABLE_RECORD_MAX", 3)
    clock = [0.0]
    registry = _registry(clock)
    for n in range(3):
        clock[0] += 1
        registry.record_retryable(b"s", n, b"i", REPLY)
    clock[0] += 1
    registry.record_retryable(b"s", 0, b"i", REPLY)  # written again: now the newest
    clock[0] += 1
    registry.record_retryable(b"s", 3, b"i", REPLY)  # over the cap: txn 1 is the oldest

    kept = [n for n in range(4) if registry.retryable_reply(b"s", n, b"i") is not None]
    assert kept == [0, 2, 3]
