"""The reliability suite: faults in the middle of a job, and what must hold after each.

    pytest -m reliability            (runs on its own; `make test` runs it too)

Here: the curator killed with SIGKILL mid-job (and between announcing a dataset and marking its job
done), the S3 store stopped for 30 s mid-job, the broker restarted mid-job. Elsewhere, marked
`reliability` too: the teacher killed mid-job (tests/test_teacher_service.py: nothing lost, nothing
paid twice but what was in flight) and the trainer killed mid-training (tests/test_trainer.py:
resumes from its checkpoint). docs/RELIABILITY.md records the outcomes.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import time
from pathlib import Path

import pytest

from cli.stack import EmbeddedStack, StackConfig
from services.curator.curation import write_dataset
from services.curator.progress import JobProgress
from shared.datasets import read_manifest
from shared.events import CurationSpec, DatasetReady, TeacherResponse
from shared.kafka import make_broker, read_since
from shared.store import ArtifactStore
from tests.streams import collect, start_service

pytestmark = [pytest.mark.stack, pytest.mark.reliability]
OUTAGE_S = 30  # how long the store stays away: the fault itself, not a wait for a result
ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["noun.act", "noun.animal", "noun.artifact", "verb.motion"]


def glosses(count: int, skip: int = 0) -> list[str]:
    with gzip.open(ROOT / "data/wordnet/heldout.jsonl.gz", "rt") as f:
        texts = [json.loads(line)["text"] for line in f]
    return texts[skip:skip + count]


def responses_for(job_id: str, texts: list[str]) -> list[TeacherResponse]:
    """What the teacher would publish for the job: one response per prompt, in order."""
    out = []
    for seq, text in enumerate(texts):
        top = seq % len(CLASSES)
        probabilities = [0.7 if i == top else 0.1 for i in range(len(CLASSES))]
        out.append(TeacherResponse(job_id=job_id, prompt_id=f"p{seq:05d}", seq=seq, total=len(texts), text=text,
                                   teacher_model="teacher", teacher_version="1", classes=CLASSES,
                                   probabilities=probabilities))
    return out


async def publish(stack, responses: list[TeacherResponse]) -> None:
    broker = make_broker(stack.config.kafka(), "test-teacher", logger=None)
    async with broker:
        for response in responses:
            await broker.publish(response, topic="teacher.responses", key=response.job_id.encode())


async def wait_for(condition, what: str, timeout_s: float = 300.0) -> None:
    """Poll a condition; the bound only stops a hung run, it is not a speed goal."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.3)


def shard_hashes(store, event: DatasetReady) -> dict[str, list[str]]:
    files = read_manifest(store, event.uri)["files"]
    return {split: [shard["sha256"] for shard in shards] for split, shards in files.items()}


async def announcements(stack, job_id: str, store) -> list[DatasetReady]:
    """Every dataset.ready of the job, once the curator has marked it done (it announces first)."""
    await wait_for(lambda: store.exists(f"jobs/{job_id}/curator/done.json"), f"job {job_id} done")
    events = await collect(stack, "dataset.ready", DatasetReady,
                           lambda items: any(e.job_id == job_id for e in items))
    return [e for e in events if e.job_id == job_id]


def uninterrupted(store, job_id: str, responses: list[TeacherResponse]) -> dict[str, list[str]]:
    """The shards an uninterrupted run writes for these responses (the same code, in process)."""
    control = [r.model_copy(update={"job_id": f"{job_id}-control"}) for r in responses]
    event, _ = write_dataset(store, f"{job_id}-control", control, CurationSpec(), {})
    return shard_hashes(store, event)


async def curate_through(stack, store, responses: list[TeacherResponse], fault) -> DatasetReady:
    """The curator given half a job; once part of it is in S3, `fault(rest)` (which also publishes
    the rest); then the job's one announcement."""
    job_id = responses[0].job_id
    half = len(responses) // 2
    start_service(stack, "curator")
    try:
        await publish(stack, responses[:half])
        await wait_for(lambda: any(store.list(f"jobs/{job_id}/curator/parts/")), "a part of the job in S3")
        await fault(responses[half:])
        (event,) = await announcements(stack, job_id, store)
    finally:
        stack.stop("curator")
    return event


async def test_a_curator_killed_mid_job_finishes_it_once_with_the_same_bytes(stack, store):
    job_id = f"curator-kill-{os.urandom(3).hex()}"
    responses = responses_for(job_id, glosses(300))

    async def kill_and_restart(rest):
        stack.kill("curator")
        # The teacher replays a few answers too (as after a teacher restart): each prompt counts once.
        await publish(stack, rest + responses[100:120])
        start_service(stack, "curator")

    event = await curate_through(stack, store, responses, kill_and_restart)
    assert sum(event.counts.values()) + sum(event.dropped.values()) == 300
    assert shard_hashes(store, event) == uninterrupted(store, job_id, responses)
    assert not list(store.list(f"jobs/{job_id}/curator/parts/"))  # progress is dropped once done


async def test_a_curator_stopped_between_announcing_and_marking_done_does_not_announce_twice(stack, store):
    job_id = f"curator-announced-{os.urandom(3).hex()}"
    responses = responses_for(job_id, glosses(120, skip=400))
    start_service(stack, "curator")
    try:
        await publish(stack, responses)
        (first,) = await announcements(stack, job_id, store)
        stack.kill("curator")
        # The state a kill between `dataset.ready` and done.json leaves: progress in S3, no done mark.
        progress = JobProgress(store)
        progress.record(job_id, 0, 0, responses)
        store.delete(f"jobs/{job_id}/curator/done.json")
        start_service(stack, "curator")
        await publish(stack, responses[-1:])  # what the restarted curator consumes again
        events = await announcements(stack, job_id, store)
    finally:
        stack.stop("curator")
    assert events == [first]


async def dead_letters_of(stack, job_id: str) -> list:
    return [r async for r in read_since(stack.config.kafka(), "teacher.responses.dlq", 0) if r.key == job_id.encode()]


async def test_the_store_away_for_30_s_mid_job_loses_nothing_and_dead_letters_nothing(stack, store):
    job_id = f"curator-s3-away-{os.urandom(3).hex()}"
    responses = responses_for(job_id, glosses(200, skip=600))

    async def store_away(rest):
        stack.kill("weed")
        try:
            await publish(stack, rest)  # the broker (memory storage) is still there
            await asyncio.sleep(OUTAGE_S)
        finally:
            await asyncio.to_thread(stack.restart_infra, "weed")

    event = await curate_through(stack, store, responses, store_away)
    assert shard_hashes(store, event) == uninterrupted(store, job_id, responses)
    assert await dead_letters_of(stack, job_id) == []
    log = (stack.log_dir / "curator.log").read_text(errors="replace")
    assert "broker or store unavailable" in log  # it waited for the store, rather than giving up


@pytest.fixture(scope="module")
def durable_stack(tmp_path_factory):
    """A stack of its own whose broker keeps its topics in S3, so that it can be restarted."""
    config = StackConfig.on_free_ports(tmp_path_factory.mktemp("durable"))
    config.kafka_storage = "s3"
    durable = EmbeddedStack(config)
    durable.start_infra()
    try:
        yield durable
    finally:
        durable.down()


async def test_the_broker_restarted_mid_job_loses_nothing(durable_stack):
    stack = durable_stack
    store = ArtifactStore(stack.config.s3())
    job_id = f"curator-broker-restart-{os.urandom(3).hex()}"
    responses = responses_for(job_id, glosses(200, skip=900))

    async def broker_restart(rest):
        stack.kill("tansu")
        await asyncio.to_thread(stack.restart_infra, "tansu")
        await publish(stack, rest)

    event = await curate_through(stack, store, responses, broker_restart)
    assert shard_hashes(store, event) == uninterrupted(store, job_id, responses)
    assert await dead_letters_of(stack, job_id) == []
