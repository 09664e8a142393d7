"""Kafka wiring shared by every service: the broker, topic administration and the dead-letter path.

Consumers and producers are FastStream; topics are created with kafka-python's admin client,
which works against Apache Kafka and the embedded Tansu broker alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker, KafkaPublishMessage
from faststream.kafka.exceptions import BatchBufferOverflowException
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError
from prometheus_client import Counter
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_delay, wait_exponential

from shared.events import all_topics, dlq_topic, utcnow
from shared.settings import KafkaSettings
from shared.store import unavailable
from shared.telemetry import tracer_provider

log = logging.getLogger(__name__)
_partitioner = DefaultPartitioner()  # Kafka's: murmur2 of the key

# How long a handler waits for the broker or the store to come back before its event is dead-lettered.
UNAVAILABLE_PATIENCE_S = 600.0

# Per topic only: a label whose values come from clients would grow without bound.
EVENTS_HANDLED = Counter("distillery_events_handled", "Events this service's handlers took in", ("topic",))
EVENTS_DEAD_LETTERED = Counter("distillery_events_dead_lettered", "Events sent to <topic>.dlq, with their reason",
                               ("topic",))

# Header names follow Kafka Connect's dead-letter convention, so existing tooling reads them.
DLQ_REASON = "x-dlq-reason"


def _security(settings: KafkaSettings) -> BaseSecurity | None:
    protocol = settings.security_protocol.upper()
    if protocol == "PLAINTEXT":
        return None
    import ssl

    ssl_context = None
    if protocol.endswith("SSL"):
        ssl_context = ssl.create_default_context(cafile=settings.ssl_cafile or None)
    if protocol.startswith("SASL"):
        password = settings.sasl_password.get_secret_value()
        kinds = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        kind = kinds[settings.sasl_mechanism.upper()]
        return kind(settings.sasl_username, password, ssl_context=ssl_context)
    return BaseSecurity(ssl_context=ssl_context)


def admin_kwargs(settings: KafkaSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"bootstrap_servers": settings.bootstrap_servers,
                              "security_protocol": settings.security_protocol}
    if settings.security_protocol.upper().startswith("SASL"):
        kwargs.update(sasl_mechanism=settings.sasl_mechanism, sasl_plain_username=settings.sasl_username,
                      sasl_plain_password=settings.sasl_password.get_secret_value())
    if settings.ssl_cafile:
        kwargs["ssl_cafile"] = settings.ssl_cafile
    return kwargs


def ensure_topics(settings: KafkaSettings, timeout_s: float = 30.0) -> list[str]:
    """Create the platform's topics (and their dead-letter twins) that do not exist yet."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(client_id="distillery-admin", **admin_kwargs(settings))
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    try:
        existing = set(admin.list_topics())
        wanted = {name: partitions for name, partitions in all_topics().items() if name not in existing}
        created = []
        for name, partitions in wanted.items():
            try:
                admin.create_topics([NewTopic(name, partitions or settings.default_partitions,
                                              settings.replication_factor)])
                created.append(name)
            except TopicAlreadyExistsError:  # another process made it first
                pass
        return created
    finally:
        admin.close()


def topic_partitions(settings: KafkaSettings, topic: str) -> int:
    admin = KafkaAdminClient(client_id="distillery-admin", **admin_kwargs(settings))
    try:
        (description,) = admin.describe_topics([topic])
        return len(description["partitions"])
    finally:
        admin.close()


class KeyedBatchPublisher:
    """Publishes many keyed events with one call per partition and chunk: each event lands on the
    partition Kafka's default partitioner gives its key (as if it had been sent alone, so consumers
    keyed by it see nothing change), for a fraction of the per-message cost of FastStream and its
    tracing middleware. Delivery is not awaited: the futures returned say how it went."""

    chunk = 256  # events per produce batch to start with; shrinks to what fits the producer's max_batch_size

    def __init__(self, publisher, settings: KafkaSettings, topic: str) -> None:
        self.publisher = publisher  # broker.publisher(topic, batch=True)
        self.settings = settings
        self.topic = topic
        self._partitions: list[int] | None = None

    async def publish(self, keyed: Sequence[tuple[bytes, Any]]) -> list[tuple[asyncio.Future | Any, int]]:
        """(key, event) pairs -> (delivery future, events in it) per produce batch."""
        if self._partitions is None:
            count = await asyncio.get_running_loop().run_in_executor(None, topic_partitions, self.settings, self.topic)
            self._partitions = list(range(count))
        groups: dict[int, list[KafkaPublishMessage]] = defaultdict(list)
        for key, event in keyed:
            groups[_partitioner(key, self._partitions, self._partitions)].append(KafkaPublishMessage(event, key=key))
        deliveries = []
        for partition, messages in groups.items():
            while messages:
                part = messages[:self.chunk]
                try:
                    delivery = await self.publisher.publish(*part, partition=partition, no_confirm=True)
                except BatchBufferOverflowException as exc:
                    if exc.message_position == 0:
                        raise  # one event larger than a whole batch
                    # Events are larger than the chunk was sized for: nothing was sent; from now on
                    # a chunk holds what fitted.
                    self.chunk = exc.message_position
                    continue
                deliveries.append((delivery, len(part)))
                messages = messages[len(part):]
        return deliveries


async def read_since(settings: KafkaSettings, topic: str, since_ms: int) -> AsyncIterator[ConsumerRecord]:
    """Every record of `topic` written since `since_ms` (epoch ms) up to the end as it is now, all
    partitions. A bounded look back, for recovery; ordinary consuming goes through FastStream
    subscribers, which have no notion of reading up to the end and stopping."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                                **parse_security(_security(settings)))
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return
        consumer.assign(partitions)
        starts = await consumer.offsets_for_times({tp: since_ms for tp in partitions})
        pending = set()
        for tp in partitions:
            start = starts.get(tp)
            if start is not None:  # None: nothing written since
                consumer.seek(tp, start.offset)
                pending.add(tp)
        # The end is the high watermark each fetch reports, not ListOffsets: Tansu answers that
        # below the real end.
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    yield record
            for tp in list(pending):
                end = consumer.highwater(tp)
                if end is not None and await consumer.position(tp) >= end:
                    pending.discard(tp)
    finally:
        await consumer.stop()


def make_broker(settings: KafkaSettings, service: str, **kwargs: Any) -> KafkaBroker:
    """One broker per service, with tracing (context in Kafka headers) and the dead-letter path."""
    kwargs.setdefault("log_level", logging.DEBUG)  # a line per message is for debugging, not for every day
    # Produce batches of 256 KB (aiokafka's default is 16 KB): a publish call per few hundred events,
    # not per two dozen. Under Kafka's default message.max.bytes (1 MB), Strimzi's included.
    kwargs.setdefault("max_batch_size", 256 * 1024)
    broker = KafkaBroker(
        settings.bootstrap_servers,
        client_id=f"distillery-{service}",
        security=_security(settings),
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider())],
        **kwargs,
    )
    broker.add_middleware(dead_letter_middleware(broker, service))
    return broker


async def dead_letter(broker: KafkaBroker, record: ConsumerRecord, body: bytes, reason: str, service: str) -> None:
    """Send one record, bytes unchanged, to `<topic>.dlq` with its reason and origin in the headers."""
    headers = {
        DLQ_REASON: reason[:4000],
        "x-dlq-topic": record.topic,
        "x-dlq-partition": str(record.partition),
        "x-dlq-offset": str(record.offset),
        "x-dlq-service": service,
        "x-dlq-time": utcnow().isoformat(),
    }
    EVENTS_DEAD_LETTERED.labels(record.topic).inc()
    await broker.publish(body, topic=dlq_topic(record.topic), key=record.key, headers=headers)


def dead_letter_middleware(broker: KafkaBroker, service: str) -> type[BaseMiddleware]:
    """An event that fails (a malformed payload, or a handler error) goes, bytes unchanged, to
    `<topic>.dlq` with its reason in the headers; the consumer carries on with the next one. A
    handler stopped by the broker or the store being away is not dead-lettered: it is run again,
    with backoff, until they are back (handlers are idempotent: every event is at least once)."""

    class DeadLetterMiddleware(BaseMiddleware):
        async def consume_scope(self, call_next, msg):
            records = msg.raw_message if isinstance(msg.raw_message, tuple) else (msg.raw_message,)
            try:
                async for attempt in AsyncRetrying(retry=retry_if_exception(unavailable), reraise=True,
                                                   wait=wait_exponential(multiplier=0.5, max=15),
                                                   stop=stop_after_delay(UNAVAILABLE_PATIENCE_S),
                                                   before_sleep=_log_retry):
                    with attempt:
                        result = await call_next(msg)
                EVENTS_HANDLED.labels(records[0].topic).inc(len(records))
                return result
            except Exception as exc:
                record = records[0]  # a batch subscriber: dead-letter under the first record's topic
                reason = f"{type(exc).__name__}: {exc}"
                log.error("event %s[%s]@%s dead-lettered: %s\n%s", record.topic, record.partition,
                          record.offset, reason, traceback.format_exc(limit=3))
                await dead_letter(broker, record, msg.body, reason, service)
                return None

    return DeadLetterMiddleware


def _log_retry(state: RetryCallState) -> None:
    log.warning("broker or store unavailable (%s); trying again in %.1f s", state.outcome.exception() if state.outcome
                else "?", state.next_action.sleep if state.next_action else 0)


__all__ = ["DLQ_REASON", "KeyedBatchPublisher", "admin_kwargs", "dead_letter", "ensure_topics", "make_broker", "read_since",
           "topic_partitions"]
