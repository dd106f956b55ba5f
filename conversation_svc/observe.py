"""What the message lifecycle reports to Prometheus (mesh.metrics): outcomes and timings.

Called where a message's state really changes (the guarded updates of ``store.py``), so each
message is counted once, whoever settled it: the worker, CancelMessage or the sweeper.
"""

from __future__ import annotations

import datetime as dt

from conversation_svc.model import Message, Status
from mesh.metrics import DONE_SECONDS, FIRST_IMAGE_SECONDS, MESSAGES


def _since(start: dt.datetime, end: dt.datetime) -> float:
    return max((end.replace(tzinfo=dt.UTC) - start.replace(tzinfo=dt.UTC)).total_seconds(), 0.0)


def _intent(message: Message) -> str:
    return message.intent.value if message.intent else "unknown"


def settled(message: Message) -> None:
    """A message just reached ``message.status`` (terminal)."""
    reason = message.failure.reason if message.failure and message.status is Status.FAILED else ""
    MESSAGES.labels(_intent(message), message.status.value, reason).inc()
    if message.status is Status.DONE and message.finish_time is not None:
        DONE_SECONDS.labels(_intent(message)).observe(
            _since(message.create_time, message.finish_time)
        )


def first_image(message: Message, at: dt.datetime) -> None:
    """The first image of ``message`` was stored at ``at``."""
    FIRST_IMAGE_SECONDS.labels(_intent(message)).observe(_since(message.create_time, at))
