"""The teacher service as its own process on the real broker and S3 server, querying a vendor API
stand-in over HTTP: every prompt answered exactly once, nothing paid for twice (across jobs, and
across a kill -9 in the middle of a job), and a budget that stops a job cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest

from shared.events import NOT_ASKED, BudgetSpec, DistillJob, JobStatus, RateLimits, TeacherResponse, TeacherSpec
from shared.kafka import make_broker, read_since
from tests.streams import collect, start_service
from tests.vendor_api import VendorServer, true_distribution

pytestmark = pytest.mark.stack
CLASSES = ["animal", "plant", "artifact", "person", "place", "time", "feeling"]
KEY_ENV = "TEST_VENDOR_KEY"


@pytest.fixture(scope="module")
def vendor():
    with VendorServer() as server:
        yield server


def start_teacher(stack) -> None:
    start_service(stack, "teacher", {KEY_ENV: "sk-test-vendor", "TEACHER_PROGRESS_EVERY_S": "0.5"})


@pytest.fixture(scope="module")
def teacher(stack, vendor):
    start_teacher(stack)
    yield
    stack.stop("teacher")


def texts_for(tag: str, n: int) -> list[str]:
    return [f"{tag} prompt number {i}: describe item {i * 7919 % 1000}" for i in range(n)]


async def submit(stack, store, name: str, texts: list[str], vendor: VendorServer, **job_fields) -> DistillJob:
    body = "".join(json.dumps({"id": f"{name}-{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    uri = await asyncio.to_thread(store.put_bytes, f"prompts/{name}.jsonl", body.encode())
    teacher = TeacherSpec(kind="openai-chat", url=vendor.url, model="gpt-test", classes=CLASSES, batch_size=10,
                          api_key_env=KEY_ENV, timeout_s=1.0, **job_fields.pop("teacher", {}))
    job = DistillJob(job_id=f"job-{name}-{os.urandom(3).hex()}", name=name, prompts_uri=uri, teacher=teacher,
                     **job_fields)
    broker = make_broker(stack.config.kafka(), "test-submit", logger=None)
    async with broker:
        await broker.publish(job, "distill.jobs", key=job.job_id.encode())
    return job


async def statuses_until(stack, job: DistillJob, state: str, timeout_s: float = 300) -> list[JobStatus]:
    def ended(items):
        return any(s.job_id == job.job_id and s.stage == "teacher" and s.state in (state, "failed") for s in items)

    items = await collect(stack, "distill.jobs.status", JobStatus, ended, timeout_s=timeout_s)
    mine = [s for s in items if s.job_id == job.job_id and s.stage == "teacher"]
    assert ended(mine), [f"{s.state}: {s.message}" for s in mine]
    assert not any(s.state == "failed" for s in mine), [s.message for s in mine]
    return mine


async def responses_of(stack, job: DistillJob, total: int) -> list[TeacherResponse]:
    await collect(stack, "teacher.responses", TeacherResponse,
                  lambda items: sum(r.job_id == job.job_id for r in items) >= total)
    # Then the topic as it is now, to its end: anything sent twice is in it too.
    records = [r async for r in read_since(stack.config.kafka(), "teacher.responses", 0)]
    items = [TeacherResponse.model_validate_json(r.value) for r in records]
    return [r for r in items if r.job_id == job.job_id]


async def test_a_job_is_answered_once_per_prompt_through_faults_and_never_paid_twice(stack, store, vendor, teacher):
    vendor.state.latency_s = 0.01
    vendor.state.timeout_sleep_s = 2.0
    vendor.state.faults.extend(["429:1", "500", "malformed", "truncated", "timeout", "503"])
    texts = texts_for("faults", 120)
    job = await submit(stack, store, "faults", texts, vendor)
    statuses = await statuses_until(stack, job, "done")
    responses = await responses_of(stack, job, len(texts))
    assert sorted(r.prompt_id for r in responses) == sorted(f"faults-{i}" for i in range(120))  # each once
    for r in responses:
        assert r.error is None and r.probabilities == pytest.approx(true_distribution(r.text, len(CLASSES)), abs=1e-6)
        assert r.classes == CLASSES
    ok = vendor.state.ok_by_text()
    assert all(ok[t] == 1 for t in texts)  # every prompt paid for once, faults notwithstanding
    done = statuses[-1].counts
    assert done["answered"] == 120 and done["cached"] == 0 and done["queries"] >= 126 and done["rate_limited"] == 1

    # The same prompts in another job come from the cache: no request reaches the vendor.
    served_before = len(vendor.state.served)
    again = await submit(stack, store, "again", texts, vendor)
    statuses = await statuses_until(stack, again, "done")
    responses = await responses_of(stack, again, len(texts))
    assert len(responses) == 120 and all(r.cached and r.error is None for r in responses)
    assert len(vendor.state.served) == served_before
    assert statuses[-1].counts["cached"] == 120 and statuses[-1].counts["queries"] == 0


async def test_a_job_stops_cleanly_at_its_budget(stack, store, vendor, teacher):
    vendor.state.latency_s = 0.0
    texts = texts_for("budget", 60)
    served_before = len(vendor.state.served)
    job = await submit(stack, store, "budget", texts, vendor, budget=BudgetSpec(max_queries=20))
    statuses = await statuses_until(stack, job, "done")
    assert any(s.state == "stopped" and "queries budget reached" in s.message for s in statuses)
    responses = await responses_of(stack, job, len(texts))
    assert len({r.prompt_id for r in responses}) == len(responses) == 60  # still one event per prompt
    answered = [r for r in responses if r.error is None]
    not_asked = [r for r in responses if r.error and r.error.startswith(NOT_ASKED)]
    assert 0 < len(answered) <= 20 and len(answered) + len(not_asked) == 60
    assert len(vendor.state.served) - served_before <= 20  # the budget counts every request sent
    assert statuses[-1].counts["queries"] <= 20


@pytest.mark.reliability
async def test_kill_9_mid_job_loses_nothing_and_repeats_only_what_was_in_flight(stack, store, vendor, teacher):
    vendor.state.latency_s = 0.1
    concurrency = 4
    texts = texts_for("crash", 300)
    job = await submit(stack, store, "crash", texts, vendor, teacher={"limits": RateLimits(max_concurrency=concurrency)})
    await collect(stack, "teacher.responses", TeacherResponse,
                  lambda items: sum(r.job_id == job.job_id for r in items) >= 80)
    pid = stack._running_pid("teacher")
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(os.waitpid, pid, 0)
    start_teacher(stack)
    await statuses_until(stack, job, "done")
    responses = await responses_of(stack, job, len(texts))
    ids = [r.prompt_id for r in responses]
    assert len(ids) == len(set(ids)) == 300, f"{len(ids)} events for {len(set(ids))} prompts"
    assert all(r.error is None for r in responses)
    ok = vendor.state.ok_by_text()
    assert all(ok[t] >= 1 for t in texts)
    repeated = [t for t in texts if ok[t] > 1]
    assert len(repeated) <= concurrency, repeated  # at most the requests in flight when it died
