"""Two replicas of a service in one consumer group, on the embedded stack: they split the work by
partition, and a rebalance in the middle (a replica joining, a replica stopped) neither loses work
nor does any twice.

Which replica holds which partitions is read from the replicas' logs (FastStream logs every
assignment), so the tests wait on the group, never on time.
"""

from __future__ import annotations

import contextlib
import os
import re

import pytest
from aiokafka.partitioner import DefaultPartitioner

from services.curator.progress import JobProgress
from shared.kafka import topic_partitions
from tests.streams import collect, start_service
from tests.test_reliability import announcements, glosses, publish, responses_for, shard_hashes, uninterrupted, wait_for

pytestmark = pytest.mark.stack
# A replica beside another needs ports of its own: none (the services open none unless told to).
OWN_PORTS = {"DISTILLERY_HEALTH_PORT": "0", "DISTILLERY_METRICS_PORT": "0"}
ASSIGNED = re.compile(r"- (\S+)\s+\|\s+(\S+)\s+\|.*Consumer (\S+) assigned to partitions: \((.*)\)\s*$")


def assignments(stack, name: str, topic: str) -> list[tuple[str, set[int]]]:
    """Every assignment of `topic`'s partitions that the process `name` logged, in order, with the
    group member (a consumer of the process) that got it."""
    log = stack.log_dir / f"{name}.log"
    if not log.exists():
        return []
    found = []
    for line in log.read_text(errors="replace").splitlines():
        match = ASSIGNED.search(line)
        if match and match.group(1) == topic:
            found.append((match.group(3), {int(p) for p in re.findall(r"partition=(\d+)", match.group(4))}))
    return found


def holds(stack, name: str, topic: str, consumers: int = 1) -> set[int]:
    """The partitions of `topic` the process `name` holds now: the last logged assignment of each of
    its `consumers` members of the group (a teacher has one per worker)."""
    latest: dict[str, set[int]] = {}
    for member, partitions in reversed(assignments(stack, name, topic)):
        if len(latest) == consumers:
            break
        latest.setdefault(member, partitions)
    return set().union(*latest.values())


def split_between(stack, names: tuple[str, ...], topic: str, partitions: int, consumers: int = 1) -> bool:
    """Every replica holds some partitions, and together they hold each exactly once."""
    held = [holds(stack, name, topic, consumers) for name in names]
    return all(held) and sum(map(len, held)) == partitions and set().union(*held) == set(range(partitions))


def keys_on_every_partition(prefix: str, partitions: int) -> dict[int, str]:
    """partition -> a fresh key that Kafka's default partitioner puts there."""
    partitioner = DefaultPartitioner()
    found: dict[int, str] = {}
    while len(found) < partitions:
        key = f"{prefix}-{os.urandom(3).hex()}"
        found.setdefault(partitioner(key.encode(), list(range(partitions)), list(range(partitions))), key)
    return found


def stop_all(stack, names: tuple[str, ...]) -> None:
    for name in names:
        stack.stop(name)


# ---- curator ------------------------------------------------------------------------------------

async def test_two_curators_split_the_jobs_and_rebalances_either_way_lose_and_repeat_nothing(stack, store):
    """A job per partition of `teacher.responses`. The first third of every job reaches one curator
    alone; a second replica joins (a rebalance: some partitions, and the jobs on them, move to it)
    and the second third is shared between the two; the second replica is stopped (a rebalance: its
    partitions move back) and the first finishes every job, with a few answers replayed. Every job
    is announced once, with the bytes of an uninterrupted run."""
    topic = "teacher.responses"
    partitions = topic_partitions(stack.config.kafka(), topic)
    jobs = keys_on_every_partition("curator-replicas", partitions)
    size = 90
    work = {job: responses_for(job, glosses(size, skip=2000 + p * size)) for p, job in jobs.items()}
    thirds = [slice(0, size // 3), slice(size // 3, 2 * size // 3), slice(2 * size // 3, size)]
    progress = JobProgress(store)

    def gathered_all(upto: int) -> bool:
        return all(len({r.prompt_id for r in progress.responses(job)}) >= upto for job in work)

    replicas = ("curator", "curator-2")
    try:
        start_service(stack, "curator", OWN_PORTS)
        await wait_for(lambda: holds(stack, "curator", topic) == set(range(partitions)), "the curator holds all")
        await publish(stack, [r for responses in work.values() for r in responses[thirds[0]]])
        await wait_for(lambda: gathered_all(thirds[0].stop), "the first third of every job gathered")

        start_service(stack, "curator-2", OWN_PORTS, service="curator")
        await wait_for(lambda: split_between(stack, replicas, topic, partitions), "the two curators share the work")
        moved = holds(stack, "curator-2", topic)
        await publish(stack, [r for responses in work.values() for r in responses[thirds[1]]])
        await wait_for(lambda: gathered_all(thirds[1].stop), "the second third of every job gathered")

        stack.stop("curator-2")  # SIGTERM: it leaves the group, its partitions go back to the first
        await wait_for(lambda: holds(stack, "curator", topic) == set(range(partitions)),
                       "the partitions of the stopped curator back with the first")
        # The teacher replays a few answers too (as after a teacher restart): each prompt counts once.
        replayed = [r for p in moved for r in work[jobs[p]][thirds[1]][:5]]
        await publish(stack, [r for responses in work.values() for r in responses[thirds[2]]] + replayed)
        events = {job: await announcements(stack, job, store) for job in work}
    finally:
        stop_all(stack, replicas)

    for job, responses in work.items():
        assert len(events[job]) == 1, f"{job} announced {len(events[job])} times"
        assert sum(events[job][0].counts.values()) + sum(events[job][0].dropped.values()) == size
        assert shard_hashes(store, events[job][0]) == uninterrupted(store, job, responses)
        assert not list(store.list(f"jobs/{job}/curator/parts/"))
    # The split was real: the second curator held partitions (and the jobs on them) in the middle.
    assert moved and moved < set(range(partitions))
    assert set(range(partitions)) - moved in [held for _, held in assignments(stack, "curator", topic)]


# ---- detector -----------------------------------------------------------------------------------

async def test_two_detectors_split_the_clients_and_their_state_moves_with_a_partition(stack, store):
    """A harvesting client per partition of `inference.requests`, 64 queries each: one detector
    alone sees the first 24, a second replica joins (a rebalance: some partitions, and the clients on
    them, move to it) and the two see 20 more, the second is stopped (its partitions move back) and
    the first sees the last 20. A client's state moves with its partition, so every client is
    alerted exactly as one detector alerts it: once, on its 64th query (the window's end)."""
    from benchmarks.detection import wait_for_consumers
    from shared.events import AbuseAlert, utcnow
    from shared.kafka import make_broker, read_since
    from tests.test_detection import _event

    topic = "inference.requests"
    partitions = topic_partitions(stack.config.kafka(), topic)
    thieves = keys_on_every_partition("replica-thief", partitions)
    sent = dict.fromkeys(thieves.values(), 0)

    async def send(count: int) -> None:
        broker = make_broker(stack.config.kafka(), "test-writer", logger=None)
        async with broker:
            for p, client in thieves.items():
                for i in range(sent[client], sent[client] + count):
                    # Event times are now: the detector's sweep drops clients quiet for a window.
                    event = _event(client, i, f"198.51.{100 + p}.0/24").model_copy(update={"time": utcnow()})
                    await broker.publish(event, topic, key=client.encode())
                sent[client] += count
        await wait_for_consumers(stack.config.kafka(), timeout_s=300)

    replicas = ("detector", "detector-2")
    try:
        start_service(stack, "detector", OWN_PORTS)
        await wait_for(lambda: holds(stack, "detector", topic) == set(range(partitions)), "the detector holds all")
        await send(24)
        start_service(stack, "detector-2", OWN_PORTS, service="detector")
        await wait_for(lambda: split_between(stack, replicas, topic, partitions), "the two detectors share the work")
        moved = holds(stack, "detector-2", topic)
        await send(20)
        stack.stop("detector-2")  # SIGTERM: it writes its checkpoint as it stops; its partitions go back
        await wait_for(lambda: holds(stack, "detector", topic) == set(range(partitions)),
                       "the partitions of the stopped detector back with the first")
        await send(20)
        # Every client alerted, and then the topic as it is now, everything consumed: every alert the
        # traffic raised is in it. A client whose state was lost is never alerted: the bound is a
        # safety net, and the assertions below say which client that was.
        with contextlib.suppress(AssertionError):
            await collect(stack, "abuse.alerts", AbuseAlert, timeout_s=120, until=lambda items: set(thieves.values())
                          <= {c for a in items for c in a.client_ids})
        records = [r async for r in read_since(stack.config.kafka(), "abuse.alerts", 0)]
    finally:
        stop_all(stack, replicas)

    alerts = [AbuseAlert.model_validate_json(r.value) for r in records]
    opened = {client: [a for a in alerts if a.client_ids == [client] and a.status == "open"]
              for client in thieves.values()}
    assert moved and moved < set(range(partitions))
    for client, found in opened.items():
        assert [a.queries[client] for a in found] == [64], \
            f"{client} (partition {next(p for p, c in thieves.items() if c == client)}, moved {sorted(moved)}): " \
            f"{[(a.status, a.queries) for a in alerts if client in a.client_ids]}"


# ---- teacher ------------------------------------------------------------------------------------

async def test_two_teachers_split_a_job_and_one_stopped_mid_job_loses_nothing_and_pays_nothing_twice(stack, store):
    """A job of 600 prompts in units spread over the 12 partitions of `teacher.work`, answered by two
    teachers in one group; once both have answered some, one is stopped (a rebalance: its partitions,
    with their shares' ledgers, move to the other). Every prompt is answered exactly once in
    `teacher.responses`, the job is done once, and the vendor is paid twice for no prompt but those
    whose requests were in flight when the replica stopped."""
    from shared.events import RateLimits, TeacherResponse
    from shared.kafka import read_since
    from tests.test_teacher_service import KEY_ENV, responses_of, statuses_until, submit, texts_for
    from tests.vendor_api import VendorServer

    topic = "teacher.work"
    partitions = topic_partitions(stack.config.kafka(), topic)
    workers = 4  # TEACHER_WORKERS: each a consumer in the group
    env = {**OWN_PORTS, KEY_ENV: "sk-test-vendor", "TEACHER_PROGRESS_EVERY_S": "0.5", "TEACHER_WORKERS": str(workers)}
    concurrency, batch_size = 4, 10
    texts = texts_for("replicas", 600)
    replicas = ("teacher", "teacher-2")
    with VendorServer() as vendor:
        vendor.state.latency_s = 0.1
        try:
            start_service(stack, "teacher", env)
            start_service(stack, "teacher-2", env, service="teacher")
            await wait_for(lambda: split_between(stack, replicas, topic, partitions, workers),
                           "the two teachers share the work")
            second = holds(stack, "teacher-2", topic, workers)
            job = await submit(stack, store, "replicas", texts, vendor,
                               teacher={"limits": RateLimits(max_concurrency=concurrency)})

            def by_replica(items) -> tuple[int, int]:
                # A unit's partition is its share: batch % shares (12 shares: 60 units of 10 prompts).
                shares = [r.seq // batch_size % partitions for r in items if r.job_id == job.job_id]
                return sum(s not in second for s in shares), sum(s in second for s in shares)

            await collect(stack, "teacher.responses", TeacherResponse,
                          lambda items: min(by_replica(items)) >= 2 * batch_size)
            stack.stop("teacher-2")  # SIGTERM, mid-job: its partitions move to the first teacher
            answered_before = by_replica([TeacherResponse.model_validate_json(r.value) async for r
                                          in read_since(stack.config.kafka(), "teacher.responses", 0)])
            statuses = await statuses_until(stack, job, "done")
            responses = await responses_of(stack, job, len(texts))
        finally:
            stop_all(stack, replicas)
        ok = vendor.state.ok_by_text()

    ids = [r.prompt_id for r in responses]
    assert len(ids) == len(set(ids)) == len(texts), f"{len(ids)} events for {len(set(ids))} prompts"
    assert all(r.error is None for r in responses)
    assert [s.state for s in statuses].count("done") == 1
    assert all(ok[t] >= 1 for t in texts)
    repeated = [t for t in texts if ok[t] > 1]
    assert len(repeated) <= concurrency, repeated  # at most the requests in flight when it stopped
    # The split was real: each teacher answered units of its own shares, and the job was still
    # unfinished when the second stopped (the first answered the rest, the second's shares included).
    assert min(answered_before) >= 2 * batch_size and sum(answered_before) < len(texts), answered_before
