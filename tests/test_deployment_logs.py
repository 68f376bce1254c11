"""The logs of a real worker with the demo's and production's logging: at the default level, a
delivery is one line with its outcome (and the reason of a failure); RQ's per-job lines and
registry cleaning are left out; a traceback shows only for a bug, or at RQ_LOG_LEVEL=DEBUG."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rq import Queue, Worker
from rq.job import Job

from demo.inventory.models import Site
from demo.logging import RQLogFilter
from tests.conftest import failed_jobs, worker_database_url
from tests.worker_processes import wait_until
from webhooks_app.models import Delivery, EventRule
from webhooks_app.receiver import Receiver
from webhooks_app.worker import WebhookWorker
from webhooks_app.worker.job import DeliveryFailed

REPO = Path(__file__).resolve().parent.parent
DELIVER = "webhooks_app.worker.job.deliver"


class Collected(logging.Handler):
    def __init__(self, level: str) -> None:
        super().__init__()
        self.addFilter(RQLogFilter(level))
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def rq_records() -> Iterator[dict[str, Collected]]:
    """What the console handler would write of RQ's records, at each RQ_LOG_LEVEL."""
    handlers = {level: Collected(level) for level in ("DEBUG", "INFO", "WARNING")}
    logger = logging.getLogger("rq.worker")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    for handler in handlers.values():
        logger.addHandler(handler)
    try:
        yield handlers
    finally:
        for handler in handlers.values():
            logger.removeHandler(handler)
        logger.setLevel(level)


def failure_reported_by_rq(queue: Queue, error: BaseException) -> None:
    """RQ's worker reporting that a delivery job raised ``error`` (its real message)."""
    worker = WebhookWorker([queue], connection=queue.connection)
    job = Job.create(DELIVER, args=([],), connection=queue.connection)
    try:
        raise error
    except type(error):
        worker.handle_exception(job, *sys.exc_info())


def test_a_delivery_that_failed_for_good_shows_its_traceback_only_at_debug(
    queue: Queue, rq_records: dict[str, Collected]
) -> None:
    failure_reported_by_rq(queue, DeliveryFailed("Status 400 returned: 400 Bad Request"))
    tracebacks = {
        level: [r for r in handler.records if "Traceback" in r.getMessage()]
        for level, handler in rq_records.items()
    }
    assert {level: len(records) for level, records in tracebacks.items()} == {
        "DEBUG": 1,
        "INFO": 0,
        "WARNING": 0,
    }


def test_a_bug_in_a_job_shows_its_traceback_at_every_level(
    queue: Queue, rq_records: dict[str, Collected]
) -> None:
    failure_reported_by_rq(queue, KeyError("webhook_id"))
    for handler in rq_records.values():
        [record] = [r for r in handler.records if "Traceback" in r.getMessage()]
        assert record.levelno == logging.ERROR and "KeyError: 'webhook_id'" in record.getMessage()


def test_other_loggers_pass_whatever_rqs_level() -> None:
    record = logging.LogRecord("webhooks_app.delivery.attempts", logging.INFO, "", 0, "x", (), None)
    assert RQLogFilter("ERROR").filter(record)


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_real_worker_logs_one_line_per_delivery_and_tracebacks_only_for_bugs(
    queue: Queue, receiver: Receiver, site_rule: EventRule, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.test_deployment_logs_settings",
        "PYTHONUNBUFFERED": "1",
        "LOG_FORMAT": "json",
    }
    for name in ("RQ_LOG_LEVEL", "LOG_LEVEL", "WEBHOOKS_LOG_LEVEL"):
        env.pop(name, None)
    if url := worker_database_url():  # the PostgreSQL rerun: the worker uses the same database
        env["DATABASE_URL"] = url
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "rqworker", "default", "--with-scheduler"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: Worker.count(queue=queue) == 1, 30, "the worker to start")
        receiver.set_status(400)  # fails for good: a 4xx is not retried
        Site.objects.create(name="Refused", slug="refused")
        wait_until(lambda: len(failed_jobs(queue)) == 1, 30, "the refused delivery's job to fail")
        receiver.set_status(200)
        Site.objects.create(name="Accepted", slug="accepted")
        queue.enqueue(DELIVER, [{"not": "a delivery"}])  # a bug: the job raises KeyError
        wait_until(lambda: len(failed_jobs(queue)) == 2, 30, "the broken job to fail")
        wait_until(lambda: Delivery.objects.filter(state="succeeded").exists(), 30, "the delivery")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    entries: list[dict[str, Any]] = [json.loads(line) for line in log.read_text().splitlines()]

    deliveries = [e for e in entries if e["logger"] == "webhooks_app.delivery.attempts"]
    assert sorted(e["outcome"] for e in deliveries) == ["failed", "succeeded"]
    [failed] = [e for e in deliveries if e["outcome"] == "failed"]
    assert "Status 400 returned" in failed["message"]

    rq_entries = [e for e in entries if e["logger"].startswith("rq.")]
    assert [e for e in rq_entries if e["level"] in {"DEBUG", "INFO"}] == []
    [bug] = [e for e in entries if "Traceback" in e["message"] + e.get("exc_info", "")]
    assert bug["level"] == "ERROR" and "KeyError" in bug["message"]
