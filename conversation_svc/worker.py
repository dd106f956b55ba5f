"""The Celery application of the pipeline: ``celery -A conversation_svc.worker worker``.

Delivery settings follow RECIPES.md: a task is acknowledged only after it finished
(``acks_late``) and handed back if its worker process dies (``reject_on_worker_lost``), each
process takes one task at a time (``prefetch_multiplier=1``), and Redis re-delivers an
unacknowledged task only after ``visibility_timeout``, which must exceed the longest task.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import setup_logging

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
    broker_transport_options={"visibility_timeout": 600},
    worker_hijack_root_logger=False,
)


def _logging(**_: object) -> None:
    # The worker logs like the services: one structlog configuration for every process.
    configure_logging(settings.log_level, settings.log_format)


setup_logging.connect(_logging, weak=False)
