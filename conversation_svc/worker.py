"""The Celery application of the pipeline: ``celery -A conversation_svc.worker worker``.

Delivery settings (docs/platform-notes.md): a task is acknowledged only after it finished
(``acks_late``) and handed back if its worker process dies (``reject_on_worker_lost``), each
process takes one task at a time (``prefetch_multiplier=1``), and Redis re-delivers an
unacknowledged task (its worker was killed outright) after ``visibility_timeout``, which must
exceed the longest task; ``unacked_restore_interval`` bounds how long that takes to notice.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging

from conversation_svc.queue import TASK_NAME
from conversation_svc.runtime import WorkerRuntime
from conversation_svc.settings import Settings
from mesh.logs import configure_logging

settings = Settings()

app = Celery("photofun", broker=settings.celery_broker_url)
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    task_serializer="json",
    accept_content=["json"],
    broker_connection_retry_on_startup=True,
    broker_transport_options={
        "visibility_timeout": settings.visibility_timeout,
        # Check for abandoned tasks every ~visibility_timeout/10 seconds (kombu's default scans
        # only every 10 × 10 s, which would leave a killed worker's message waiting for minutes).
        "unacked_restore_interval": max(1, settings.visibility_timeout // 10),
        "unacked_restore_throttle": 1,
    },
    worker_hijack_root_logger=False,
)
runtime = WorkerRuntime(settings)


def process_message(message_id: str) -> None:
    """Take one message to a terminal state (``process_prompt_task`` and
    ``generate_image_task`` of the original design, as one idempotent task)."""
    runtime.process(message_id)


app.task(name=TASK_NAME, acks_late=True, reject_on_worker_lost=True)(process_message)


def _logging(**_: object) -> None:
    # The worker logs like the services: one structlog configuration for every process.
    configure_logging(settings.log_level, settings.log_format)


setup_logging.connect(_logging, weak=False)
