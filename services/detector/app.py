"""detector: watches `inference.requests` (classifiers) and `inference.generations` (chat models)
and publishes `abuse.alerts` when a client, or a ring of linked accounts, looks like it is
extracting the served model.

Stage one consumes both topics (keyed by client, so one replica sees all of a client's traffic and
replicas share the load by partition; one detector, whichever kind of model) and publishes a
`ClientProfile` every few queries to `detector.profiles` (keyed by model); stage two consumes
those and links accounts into rings.
Both keep their state per partition in S3 (`detector/state/`), so a restarted or rebalanced
replica resumes where the last owner of the partition stopped."""

from __future__ import annotations

import asyncio
import functools
import gc
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaMessage

from services.detector.detection import ClientDetector, ClientState, RingLinker
from services.detector.records import STATE_PREFIX, load_reference, save_reference, save_risk
from services.detector.settings import DetectorServiceSettings
from shared.events import AbuseAlert, ClientProfile, InferenceGeneration, InferenceRequest, utcnow
from shared.service import create_service
from shared.store import ArtifactStore

settings = DetectorServiceSettings()
config = settings.detector
broker, app, log = create_service("detector", settings)
alerts = broker.publisher("abuse.alerts", title="abuse.alerts", schema=AbuseAlert,
                          description="Alerts on clients, or rings of linked accounts, extracting a served model: "
                                      "open, update (score rises or the ring grows), resolve.")
profiles = broker.publisher("detector.profiles", title="detector.profiles", schema=ClientProfile,
                            description="Per-client summaries from the detector's first stage, for ring linking.")
store = ArtifactStore(settings.s3)


detector = ClientDetector(config)
rings = RingLinker(config, detector.reference)
# Held while an event is applied and while a checkpoint encodes the state: a checkpoint is the state
# after one record, never half of one, and it yields to the event loop while it encodes (health
# probes and the consumers' heartbeats go on; the consumers wait). The encoding is done on the loop,
# in pieces: JSON's encoder holds the interpreter lock, so in a thread it would stall the loop as long.
state_lock = asyncio.Lock()
ENCODE_BETWEEN_YIELDS = 8  # clients' states (1-2 ms each, for a heavy one) or ring profiles


async def json_array(values: Iterable[Any]) -> list[bytes]:
    """A JSON array of the values, each made (the iterable may be lazy) and encoded in turn, the
    event loop let run every ENCODE_BETWEEN_YIELDS of them; in pieces, joined once off the loop (a
    join of tens of MB holds it for a tenth of a second, and releases the interpreter lock)."""
    parts = [b"["]
    for done, value in enumerate(values, 1):
        parts += (b",", json.dumps(value).encode()) if done > 1 else (json.dumps(value).encode(),)
        if done % ENCODE_BETWEEN_YIELDS == 0:
            await asyncio.sleep(0)
    parts.append(b"]")
    return parts


def single_record(message: KafkaMessage) -> ConsumerRecord:
    """The record of a message; the subscribers here are not batch subscribers (whose messages hold a tuple)."""
    record = message.raw_message
    assert not isinstance(record, tuple), "a batch message reached a single-record subscriber"
    return record


class PartitionState:
    """Which partitions of a topic this replica has state for, up to which offset; checkpoints are
    per partition, so whichever replica owns a partition next picks up its state."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.offsets: dict[int, int] = {}  # partition -> last offset applied
        self.checkpointed: dict[int, int] = {}
        self.read: dict[int, bytes | None] = {}  # checkpoints read at assignment, for the partition's first record
        # Taken from this replica in a rebalance: a record of one fetched before it may still be
        # waiting for the state lock, and must not bring the partition's state back here.
        self.revoked: set[int] = set()
        self.saving = asyncio.Lock()  # one save at a time: an older state's upload never lands after a newer one's

    def key(self, partition: int) -> str:
        return f"{STATE_PREFIX}{self.name}-{partition}.json"

    async def checkpoint_offset(self, partition: int) -> int:
        """The offset the partition's checkpoint covers (-1: none), read now and kept for `admit`."""
        saved = self.read[partition] = await asyncio.to_thread(store.get_optional, self.key(partition))
        return json.loads(saved)["offset"] if saved else -1

    async def admit(self, message: KafkaMessage, restore) -> bool:
        """False for a record that the loaded checkpoint already covers."""
        record = single_record(message)
        if record.partition in self.revoked:
            return False
        if record.partition not in self.offsets:
            saved = self.read.pop(record.partition) if record.partition in self.read else \
                await asyncio.to_thread(store.get_optional, self.key(record.partition))
            self.offsets[record.partition] = -1
            if saved:
                body = json.loads(saved)
                restore(body["state"])
                self.offsets[record.partition] = self.checkpointed[record.partition] = body["offset"]
                log.info("%s partition %d: state restored up to offset %d", self.name, record.partition, body["offset"])
        if record.offset <= self.offsets[record.partition]:
            return False
        self.offsets[record.partition] = record.offset
        return True

    async def save(self, state_of: Callable[[int], Awaitable[list[bytes]]],
                   partitions: Iterable[int] | None = None) -> None:
        """Checkpoint every partition (or these) whose state moved on since its last checkpoint
        (`state_of`: a partition's state, encoded as JSON, in pieces)."""
        async with self.saving:
            wanted = set(self.offsets) if partitions is None else set(partitions) & set(self.offsets)
            for partition in sorted(wanted):
                async with state_lock:  # the state up to the offset, no further
                    offset = self.offsets.get(partition, -1)
                    if offset < 0 or self.checkpointed.get(partition) == offset:
                        continue
                    state = await state_of(partition)
                head = json.dumps({"offset": offset, "time": utcnow().isoformat()})[:-1].encode()
                body = await asyncio.to_thread(b"".join, [head, b', "state": ', *state, b"}"])
                await asyncio.to_thread(store.put_bytes, self.key(partition), body, "application/json")
                self.checkpointed[partition] = offset

    def forget(self, partitions: Iterable[int]) -> None:
        """This replica holds no state of these partitions any more: the next record of one (if it
        comes back) restores it from its checkpoint."""
        for partition in partitions:
            self.offsets.pop(partition, None)
            self.checkpointed.pop(partition, None)
            self.read.pop(partition, None)


# Clients' state is checkpointed per partition of the topic their events come in on.
client_partitions = {topic: PartitionState(topic) for topic in ("inference.requests", "inference.generations")}
profile_partitions = PartitionState("detector.profiles")
client_partition: dict[tuple[str, str], tuple[str, int]] = {}  # (client, model) -> (topic, partition)


model_partition: dict[str, int] = {}  # model -> the partition of detector.profiles its profiles come on


class HandOver(ConsumerRebalanceListener):
    """A partition's state goes with the partition: its clients (stage one), its models' rings
    (stage two). On a rebalance (which revokes every partition of the consumer before handing
    partitions out again) that state is checkpointed and dropped here, so that whichever replica
    owns a partition next, this one included, goes on from the state the last owner reached, never
    from an older one: not from a checkpoint older than the offsets committed, nor from a copy in
    memory that another replica has moved on from since."""

    def __init__(self, partitions: PartitionState, state_of: Callable[[int], Awaitable[list[bytes]]],
                 drop: Callable[[set[int]], None]) -> None:
        self.partitions, self.state_of, self.drop = partitions, state_of, drop
        self.subscriber: Any = None  # the subscriber it listens for (its consumer exists once it started)

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        mine = {tp.partition for tp in revoked if tp.topic == self.partitions.name}
        self.partitions.revoked |= mine  # before anything is awaited: no record of them is applied from now
        try:
            await self.partitions.save(self.state_of, mine)
        finally:
            async with state_lock:
                self.partitions.forget(mine)
                self.drop(mine)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Each partition is read again from just after its checkpoint (from its start when it has
        none): the consumer commits offsets as it goes and the state is checkpointed every
        `checkpoint_s`, so a replica killed in between leaves records committed that no checkpoint
        holds. Its state is restored at its first record (`admit`); the alerts and profiles of the
        records read again may be published again, under the same alert ids."""
        consumer = getattr(self.subscriber, "consumer", None)
        mine = sorted(tp for tp in assigned if tp.topic == self.partitions.name)
        self.partitions.revoked -= {tp.partition for tp in mine}
        if consumer is None or not mine:
            return
        consumer.pause(*mine)  # nothing is read from them before they are positioned (the fetcher runs meanwhile)
        try:
            starts = await consumer.beginning_offsets(mine)
            for tp in mine:
                offset = max(await self.partitions.checkpoint_offset(tp.partition) + 1, starts[tp])
                consumer.seek(tp, offset)
                log.info("%s partition %d: read from offset %d (its checkpoint holds what is before)", tp.topic,
                         tp.partition, offset)
        finally:
            consumer.resume(*mine)


def client_hand_over(topic: str) -> HandOver:
    def drop(partitions: set[int]) -> None:
        for key, owner in list(client_partition.items()):
            if owner[0] == topic and owner[1] in partitions:
                del client_partition[key]
                detector.clients.pop(key, None)

    return HandOver(client_partitions[topic], functools.partial(clients_of, topic), drop)


def models_on(partition: int) -> set[str]:
    return {model for model, owner in model_partition.items() if owner == partition}


def drop_models(partitions: set[int]) -> None:
    for partition in partitions:
        models = models_on(partition)
        rings.drop(models)
        for model in models:
            del model_partition[model]


def restore_clients(topic: str, partition: int, state: dict) -> None:
    for item in state["clients"]:
        key = (item["client_id"], item["model"])
        detector.clients[key] = ClientState.from_json(item["state"])
        client_partition[key] = (topic, partition)  # in its partition's next checkpoint, whether it asks again or not


async def clients_of(topic: str, partition: int) -> list[bytes]:
    owned = [key for key, owner in client_partition.items() if owner == (topic, partition)]
    clients = ({"client_id": client_id, "model": model, "state": state.to_json()} for client_id, model in owned
               if (state := detector.clients.get((client_id, model))) is not None)
    return [b'{"clients": ', *await json_array(clients), b"}"]


def forget_dropped_clients() -> None:
    """The partition of each client the detector still holds, no more (it forgets the idle)."""
    for key in [key for key in client_partition if key not in detector.clients]:
        del client_partition[key]


def listened(subscriber, listener: HandOver):
    """The subscriber, its listener told which consumer it seeks on."""
    listener.subscriber = subscriber
    return subscriber


request_hand_over = client_hand_over("inference.requests")
generation_hand_over = client_hand_over("inference.generations")


@listened(broker.subscriber("inference.requests", group_id="detector", auto_offset_reset="earliest",
                            title="inference.requests", listener=request_hand_over), request_hand_over)
async def on_request(event: InferenceRequest, message: KafkaMessage) -> None:
    await observe("inference.requests", event, message)


@listened(broker.subscriber("inference.generations", group_id="detector-chat", auto_offset_reset="earliest",
                            title="inference.generations", listener=generation_hand_over), generation_hand_over)
async def on_generation(event: InferenceGeneration, message: KafkaMessage) -> None:
    await observe("inference.generations", event, message)


async def observe(topic: str, event: InferenceRequest | InferenceGeneration, message: KafkaMessage) -> None:
    partition = single_record(message).partition
    async with state_lock:
        if not await client_partitions[topic].admit(message, functools.partial(restore_clients, topic, partition)):
            return
        if event.model not in detector.references:
            await ensure_reference(event.model)
        alert, profile = detector.observe(event)
        # After anything awaited: a sweep meanwhile would forget a partition record of a client not yet held.
        client_partition[(event.client_id, event.model)] = (topic, partition)
    if profile is not None:
        await profiles.publish(profile, key=event.model.encode())
    if alert is not None:
        await publish_alert(alert)


async def rings_of(partition: int) -> list[bytes]:
    models = models_on(partition)
    return [b'{"profiles": ', *await json_array(rings.profile_states(models)),
            b', "rings": ', *await json_array(rings.ring_states(models)), b"}"]


profile_hand_over = HandOver(profile_partitions, rings_of, drop_models)


@listened(broker.subscriber("detector.profiles", group_id="detector-rings", auto_offset_reset="earliest",
                            title="detector.profiles", listener=profile_hand_over), profile_hand_over)
async def on_profile(profile: ClientProfile, message: KafkaMessage) -> None:
    partition = single_record(message).partition

    def restore(state: dict) -> None:
        model_partition.update(dict.fromkeys(rings.load_json(state), partition))

    async with state_lock:
        if not await profile_partitions.admit(message, restore):
            return
        model_partition[profile.model] = partition
        alert = rings.observe(profile)
    if alert is not None:
        await publish_alert(alert)


async def publish_alert(alert: AbuseAlert) -> None:
    await alerts.publish(alert, key=alert.alert_id.encode())
    log.warning("alert %s (%s, %s) on %s: score %.2f: %s", alert.alert_id, alert.status, alert.severity,
                ", ".join(alert.client_ids), alert.score, alert.explanation)


async def ensure_reference(model: str) -> None:
    """The model's benign reference as the store has it (every replica's windows, and any
    operator-supplied sample), read once; it grows from this replica's traffic from then on."""
    reference = detector.reference(model)
    try:
        windows = await asyncio.to_thread(load_reference, store, model, reference)
        log.info("benign reference of %s: %d windows from the store", model, windows)
    except Exception as exc:  # it rebuilds from traffic; the prior stands in meanwhile
        log.warning("benign reference of %s not read (%s): it starts from traffic", model, exc)


async def checkpoint() -> None:
    for topic, partitions in client_partitions.items():
        await partitions.save(functools.partial(clients_of, topic))
    # The reference is rolling and shared: the last replica to write it wins, which loses at most
    # the windows another replica added since its own last read (a sample, not a ledger).
    # Encoded on the event loop: a thread would read it while events add to it.
    for model, reference in list(detector.references.items()):
        async with state_lock:
            saved = json.dumps(reference.to_json()).encode()
        await asyncio.to_thread(save_reference, store, model, saved)
    # Every client's risk, alerted or not, per partition: `distillery detector risk` reads these.
    tables: dict[tuple[str, int], list[dict]] = {}
    for row in detector.risk_table():
        owner = client_partition.get((row["client_id"], row["model"]))
        if owner is not None:
            tables.setdefault(owner, []).append(row)
    for topic, partitions in client_partitions.items():
        for partition in list(partitions.offsets):
            table = json.dumps(tables.get((topic, partition), [])).encode()
            await asyncio.to_thread(save_risk, store, f"{topic}-{partition}", table)
    # Ring state is per model: each partition of detector.profiles (keyed by model) gets its models'.
    await profile_partitions.save(rings_of)


async def background() -> None:
    last_checkpoint = asyncio.get_running_loop().time()
    while True:
        await asyncio.sleep(min(config.sweep_s, config.checkpoint_s))
        now = utcnow()
        resolved = detector.sweep(now) + rings.sweep(now)
        forget_dropped_clients()
        for alert in resolved:
            await alerts.publish(alert, key=alert.alert_id.encode())
            log.info("alert %s resolved: %s quiet since %s", alert.alert_id, ", ".join(alert.client_ids),
                     alert.window_end.isoformat())
        if asyncio.get_running_loop().time() - last_checkpoint >= config.checkpoint_s:
            last_checkpoint = asyncio.get_running_loop().time()
            try:
                await checkpoint()
            except Exception as exc:  # the next one will try again
                log.warning("checkpoint failed: %s", exc)


tasks: list[asyncio.Task] = []


@app.after_startup
async def start_background() -> None:
    # The modules' own objects (about 100k) live as long as the process: a full collection need not
    # visit them, which halves its pause on a week of clients (docs/BENCHMARKS.md).
    gc.collect()
    gc.freeze()
    tasks.append(asyncio.create_task(background(), name="detector-sweep-and-checkpoint"))


@app.on_shutdown
async def stop_background() -> None:
    for task in tasks:
        task.cancel()


@app.after_shutdown
async def last_checkpoint() -> None:
    # Once the broker has stopped: nothing is consumed after it, and the offsets committed as the
    # consumers closed are all in it.
    await checkpoint()
