"""The embedded MongoDB-wire server (SecantusDB) with two of its costs made constant.

``python -m devstack.embedded_mongo --host H --port P --storage-path DIR`` is
``python -m secantus`` with these changes applied first (docs/decisions.md, "The embedded
database"):

- **A write whose filter names one ``_id`` reads that one document.** SecantusDB looks a
  document up by ``_id`` only when ``_id`` is the filter's single field; any other field next to
  it — and every ``findAndModify``, which re-asserts its query as ``{_id, $and: [query]}`` —
  reads the whole collection. Our guarded writes (``{_id, status: PROCESSING}``) then cost time
  in proportion to every message ever stored, so a long-lived ``make run`` slowed down message
  after message. Candidates of a write are always matched against the full filter afterwards,
  so handing over the one document with that ``_id`` is exact.
- **Retryable-write records are pruned from their oldest end.** Every write scanned all
  records (up to 10,000 kept for 30 minutes) and, once at the cap, sorted them all again.
  Records are kept in the order they were written, so the stale and the excess ones are at the
  front of the dictionary.

Real MongoDB (docker-compose, production) does neither of these things; nothing here changes
what any command answers. ``tests/devstack/test_embedded_mongo.py`` counts the documents a
write reads.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from secantus import storage as _storage
from secantus import transactions as _transactions

_PATCHED = "_photofun_patched"


def _id_equality(filter: Mapping[str, Any]) -> Any | None:
    """The one ``_id`` a filter's top level pins by equality (None when it pins none)."""
    if "_id" not in filter:
        return None
    keys = _storage._id_point_lookup_keys(filter["_id"])
    return keys if keys is not None and len(keys) <= 1 else None


def apply() -> None:
    """Patch SecantusDB in this process (idempotent)."""
    if getattr(_storage.Storage, _PATCHED, False):
        return
    original = _storage.Storage._try_index_id_keys

    def _try_index_id_keys(
        self: Any, db: str, coll: str, filter: dict[str, Any], *, collation: Any = None
    ) -> list[Any] | None:
        if filter and len(filter) > 1 and collation is None and not self._is_timeseries(db, coll):
            keys = _id_equality(filter)
            if keys is not None:
                found = [self._doc_recordid(db, coll, k) for k in keys]
                return [r for r in found if r is not None]
        found_by_index: list[Any] | None = original(self, db, coll, filter, collation=collation)
        return found_by_index

    def _prune_retryable_locked(self: Any) -> None:
        records = self._retryable
        cutoff = self._time() - _transactions._RETRYABLE_RECORD_LIFETIME_SECONDS
        while records:
            key = next(iter(records))
            if records[key][1] >= cutoff and len(records) <= _transactions._RETRYABLE_RECORD_MAX:
                break
            del records[key]

    record = _transactions.TransactionRegistry.record_retryable

    def record_retryable(self: Any, lsid_bytes: bytes, txn_number: int, *args: Any) -> None:
        with self._lock:  # a record written again moves to the newest end
            self._retryable.pop((lsid_bytes, txn_number), None)
        record(self, lsid_bytes, txn_number, *args)

    _storage.Storage._try_index_id_keys = _try_index_id_keys
    _transactions.TransactionRegistry.record_retryable = record_retryable
    _transactions.TransactionRegistry._prune_retryable_locked = _prune_retryable_locked
    setattr(_storage.Storage, _PATCHED, True)


def main(argv: list[str] | None = None) -> int:
    apply()
    from secantus.cli import main as secantus_main

    return int(secantus_main(argv) or 0)


if __name__ == "__main__":
    sys.exit(main())
