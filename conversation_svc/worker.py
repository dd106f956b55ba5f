"""The Celery application of the pipeline: ``celery -A conversation_svc.worker worker``.

Concurrency (docs/celery-workflow.md): Celery's threads pool with
``CONVERSATION_SVC_WORKER_CONCURRENCY`` threads; each hands its message to the process's one
event loop and waits, so one process keeps that many messages in flight.

Delivery settings (docs/platform-notes.md): a task is acknowledged only after it finished
(``acks_late``), a thread takes one task at a time (``prefetch_multiplier=1``), and Redis
re-delivers an unacknowledged task (its worker was killed outright) after
``visibility_timeout``. That is the backstop: a dead worker's messages come back much sooner
through their leases (``conversation_svc.inflight``), which also keep a redelivered task from
running beside the first.
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import (
    setup_logging,
    task_postrun,
    worker_init,
    worker_process_shutdown,
)

from conversation_svc.queue import TASK_NAME
from conversation_svc.runtime import WorkerRuntime
from conversation_svc.settings import Settings
from mesh import metrics
from mesh.logs import configure_logging, get_logger
from mesh.tracing import configure_tracing, shutdown_tracing

settings = Settings()

app = Celery("photofun", broker=settings.celery_broker_url)
app.conf.update(
    worker_pool="threads",
    worker_concurrency=settings.worker_concurrency,
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


log = get_logger(__name__)


def _worker_starting(**_: object) -> None:
    # Tracing is set up before the pool forks (the SDK restarts its export thread in each
    # child), so prefork, threads and solo pools all trace. The main process serves the sum of
    # every pool process's series (mesh.metrics).
    if configure_tracing("worker", settings) is not None:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor

        CeleryInstrumentor().instrument()  # type: ignore[no-untyped-call]
    metrics.sample_worker_memory()
    if settings.telemetry and settings.worker_metrics_port:
        if not metrics.multiprocess():
            log.warning("PROMETHEUS_MULTIPROC_DIR is unset: /metrics shows the main process only")
        port = metrics.serve_worker_metrics(settings.worker_metrics_port, settings.host)
        log.info("metrics", url=f"http://{settings.host}:{port}/metrics")


def _process_stopping(**_: object) -> None:
    shutdown_tracing()
    metrics.worker_process_exited(os.getpid())


def _task_done(**_: object) -> None:
    metrics.sample_worker_memory()


worker_init.connect(_worker_starting, weak=False)
worker_process_shutdown.connect(_process_stopping, weak=False)
task_postrun.connect(_task_done, weak=False)
