"""The embedded broker on S3 storage keeps its topics, records and committed offsets through a SIGKILL."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from cli.stack import EmbeddedStack, StackConfig
from shared.events import all_topic_names

pytestmark = pytest.mark.stack

TOPIC = "teacher.responses"  # one of the platform's topics: start_infra makes it
GROUP = "durable-test"
EVENTS = 300


@pytest.fixture
def durable_stack(tmp_path):
    config = StackConfig.on_free_ports(tmp_path)
    config.kafka_storage = "s3"
    stack = EmbeddedStack(config)
    try:
        stack.start_infra()
        yield stack
    finally:
        stack.down()


def topics(bootstrap: str) -> set[str]:
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


async def produce(bootstrap: str, start: int = 0) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(TOPIC, key=f"job-{i % 7}".encode(), value=f"event-{i:05d}".encode())
                for i in range(start, start + EVENTS)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def read_and_commit(bootstrap: str, count: int, timeout_s: float = 60.0) -> list[tuple[int, int, bytes]]:
    """`count` records read as a member of GROUP, which then commits just past them."""
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    records: list[tuple[int, int, bytes]] = []
    try:
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=count - len(records))
            for tp, batch in batches.items():
                records += [(tp.partition, r.offset, r.value) for r in batch]
        await consumer.commit({TopicPartition(TOPIC, p): max(o for q, o, _ in records if q == p) + 1
                               for p in {p for p, _, _ in records}})
        return records
    finally:
        await consumer.stop()


async def committed_and_after(bootstrap: str, count: int, timeout_s: float = 60.0
                              ) -> tuple[dict[int, int | None], list[tuple[int, int, bytes]]]:
    """GROUP's committed offsets (asked without joining it), and the records from there on (from the
    start where it committed none) until `count` of them came or the time is up."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    records: list[tuple[int, int, bytes]] = []
    try:
        partitions = [TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or ())]
        committed = {tp.partition: await consumer.committed(tp) for tp in partitions}
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, committed[tp.partition] or 0)
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, batch in batches.items():
                records += [(tp.partition, r.offset, r.value) for r in batch]
        return committed, records
    finally:
        await consumer.stop()


async def read_everything(bootstrap: str, count: int) -> list[tuple[int, int, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    records: list[tuple[int, int, bytes]] = []
    try:
        consumer.assign([TopicPartition(TOPIC, p) for p in sorted(consumer.partitions_for_topic(TOPIC) or ())])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + 60
        while len(records) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000)
            for tp, batch in batches.items():
                records += [(tp.partition, r.offset, r.value) for r in batch]
        return records
    finally:
        await consumer.stop()


def values(start: int, stop: int) -> list[bytes]:
    return [f"event-{i:05d}".encode() for i in range(start, stop)]


def test_the_s3_broker_keeps_topics_records_and_offsets_through_a_sigkill(durable_stack):
    from shared.store import ArtifactStore

    stack = durable_stack
    bootstrap = stack.config.kafka().bootstrap_servers
    asyncio.run(produce(bootstrap))
    first = asyncio.run(read_and_commit(bootstrap, EVENTS // 3))
    assert len(first) == EVENTS // 3
    committed_before, _ = asyncio.run(committed_and_after(bootstrap, 0))
    assert sum(v or 0 for v in committed_before.values()) == EVENTS // 3

    assert stack.kill("tansu")
    assert "tansu" not in stack.running() and "weed" in stack.running()
    stack.restart_infra("tansu")
    assert set(all_topic_names()) <= topics(bootstrap)

    committed_after, rest = asyncio.run(committed_and_after(bootstrap, EVENTS - len(first)))
    assert committed_after == committed_before  # what the group committed before the kill
    everything = first + rest
    assert sorted(v for _, _, v in everything) == values(0, EVENTS)
    assert len({(p, o) for p, o, _ in everything}) == EVENTS  # each record once, at its own offset

    # The broker goes on after what it kept: new records at new offsets, the old ones untouched.
    asyncio.run(produce(bootstrap, start=EVENTS))
    again = asyncio.run(read_everything(bootstrap, 2 * EVENTS))
    assert sorted(v for _, _, v in again) == values(0, 2 * EVENTS)
    assert set(everything) <= set(again) and len({(p, o) for p, o, _ in again}) == 2 * EVENTS

    # The S3 server killed and started again on its data: its objects, and the broker's, are there.
    store = ArtifactStore(stack.config.s3())
    store.put_bytes("durable/kept", b"kept")
    assert stack.kill("weed")
    assert "weed" not in stack.running() and "tansu" in stack.running()
    stack.restart_infra("weed")
    assert store.get_bytes("durable/kept") == b"kept"
    assert sorted(asyncio.run(read_everything(bootstrap, 2 * EVENTS))) == sorted(again)
    # ... and the broker writes to it again: a group joins and commits.
    assert len(asyncio.run(read_and_commit(bootstrap, EVENTS))) == EVENTS
    assert not stack.kill("nothing-by-this-name")
