"""Property-based tests (hypothesis): no input crashes a handler or a parser.

- Event decoders: every consumed topic's typed subscriber, behind the broker `make_broker` builds
  (tracing and the dead-letter middleware), on FastStream's in-memory test broker. Whatever bytes
  arrive, a valid event is handled and anything else goes, bytes unchanged, to `<topic>.dlq` with
  its reason; the consumer goes on with the next event.
- The Open Inference Protocol request parsing of the inference service: a ModelInferRequest is
  parsed, or refused with the service's own RequestError (a gRPC status and a message).
- API keys (the authorization metadata and the key store) and WATERMARK_KEYS: bad input gives the
  documented error, a created key or a well-formed spec round-trips.

None of these needs the embedded Kafka broker or S3 server.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import math
import re
import string
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker, TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.inference.access import AccessControl, Client, RequestError
from services.inference.server import OUTPUTS, _queue_deadline, _requested_outputs, _texts_from_request
from shared.events import TOPICS, Event, Topic, dlq_topic
from shared.kafka import DLQ_REASON, make_broker
from shared.keys import KEY_PREFIX, EnforcementStore, KeyStore
from shared.oip import (
    PROBABILITIES_OUTPUT,
    TEXT_INPUT,
    decode_bytes_tensor,
    encode_bytes_tensor,
    pb,
    text_infer_request,
)
from shared.settings import KafkaSettings
from shared.store import ArtifactStore
from shared.watermark import WatermarkKey, new_key, parse_keys

# Bounded, and no example database: these run on every change, and a failure prints its example.
PROPERTY = settings(max_examples=75, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CONSUMED = [t for t in TOPICS if t.consumed]
TIME = "2026-01-02T03:04:05+00:00"
TEACHER: dict[str, Any] = {"kind": "oip", "url": "127.0.0.1:8001", "model": "teacher"}

# One valid event per consumed topic, every required field set (and the times, so that nothing
# defaults to "now" and a decoded event can be compared with the one expected).
VALID: dict[str, dict[str, Any]] = {
    "distill.jobs": {"job_id": "job-1", "name": "sentiment", "submitted_at": TIME, "prompts_uri": "s3://b/p.jsonl",
                     "teacher": TEACHER, "templates": [{"id": "t1", "template": "a {x}", "slots": {"x": ["b"]}}]},
    "teacher.work": {"job_id": "job-1", "batch": 0, "batches": 2, "share": 1, "shares": 12, "total": 64,
                     "teacher": TEACHER, "prompts": [{"prompt_id": "p-1", "seq": 0, "text": "hello"}]},
    "teacher.responses": {"job_id": "job-1", "prompt_id": "p-1", "seq": 0, "total": 1, "text": "hello",
                          "teacher_model": "teacher", "classes": ["neg", "pos"], "probabilities": [0.25, 0.75],
                          "time": TIME},
    "dataset.ready": {"job_id": "job-1", "dataset_id": "ds-1", "uri": "s3://b/ds", "manifest_uri": "s3://b/ds/m.json",
                      "counts": {"train": 8, "test": 2}, "dropped": {"duplicate": 1}, "classes": ["neg", "pos"],
                      "time": TIME},
    "model.promoted": {"model_name": "student", "version": "3", "uri": "s3://b/models/student/3", "time": TIME},
    "inference.requests": {"request_id": "r-1", "client_id": "c-1", "model": "student", "model_version": "3",
                           "time": TIME, "text_sha256": "ab" * 32, "text_simhash": "0123456789abcdef",
                           "text_chars": 5, "top_class": "pos", "top_probability": 0.75, "entropy": 0.56,
                           "n_classes": 2, "outputs": ["PROBABILITIES"], "text_minhash": [1, 2, 3, 4, 5, 6, 7, 8]},
    "inference.generations": {"request_id": "g-1", "client_id": "c-1", "model": "teacher-lm", "model_version": "1",
                              "time": TIME, "api": "chat.completions", "prompt_tokens": 12, "completion_tokens": 30,
                              "max_tokens": 64, "temperature": 0.0, "top_p": 1.0, "logprobs": True, "top_logprobs": 20,
                              "latency_s": 0.5, "prompt_topics": ["animal"], "prompt_nouns": [4242],
                              "reasoning_cue": True},
    "abuse.alerts": {"alert_id": "a-1", "status": "open", "client_ids": ["c-1"], "model": "student", "score": 0.9,
                     "severity": "high", "findings": [{"detector": "coverage", "score": 0.9, "evidence": {"n": 3}}],
                     "window_start": TIME, "window_end": TIME, "time": TIME},
    "detector.profiles": {"client_id": "c-1", "model": "student", "window_start": TIME, "time": TIME, "queries": 10,
                          "n_classes": 2, "class_counts": {"pos": 7, "neg": 3}, "near_duplicate_rate": 0.1,
                          "full_distribution_rate": 1.0},
    "inference.control": {"change": "key_revoked", "client_id": "c-1", "by": "operator", "time": TIME},
}
# The same events as a producer of today writes them: every field, defaults included.
FULL = {t.name: t.event.model_validate(VALID[t.name]).model_dump(mode="json") for t in CONSUMED}

JSON_SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def _valid(model: type[Event], payload: bytes | None) -> Event | None:
    """The oracle: the event a payload decodes to (plain JSON, then the topic's model), or None."""
    try:
        return model.model_validate(json.loads(payload or b""))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def _set_fields(event: Event) -> dict[str, Any]:
    return event.model_dump(mode="json", include=event.model_fields_set)


# ---- event decoders behind the dead-letter middleware ------------------------------------------

@dataclass
class DeadLetter:
    topic: str
    key: bytes
    body: bytes | None
    headers: dict[str, str]


@dataclass
class Consumers:
    """A subscriber per consumed topic, typed with its event model, and one per dead-letter topic,
    on the in-memory broker; publishing returns once every handler it reaches has run."""

    runner: asyncio.Runner
    broker: KafkaBroker
    handled: list[tuple[str, Event]] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    def subscribe(self, topic: Topic) -> None:
        async def on_event(received: Event) -> None:
            self.handled.append((topic.name, received))

        # FastStream validates the body against the parameter's annotation: make it the topic's model.
        on_event.__annotations__["received"] = topic.event
        self.broker.subscriber(topic.name, group_id="properties")(on_event)

        async def on_dead_letter(message: KafkaMessage) -> None:
            record = message.raw_message
            assert isinstance(record, ConsumerRecord)  # not a batch subscriber
            self.dead.append(DeadLetter(record.topic, record.key, record.value, dict(message.headers)))

        self.broker.subscriber(dlq_topic(topic.name), group_id="properties-dlq")(on_dead_letter)

    def publish(self, topic: Topic, payload: bytes | None, headers: dict[str, str] | None = None) -> None:
        self.handled.clear()
        self.dead.clear()
        key = f"{topic.key}-1".encode()
        # Raises if anything escapes the handler: the middleware must have caught it.
        self.runner.run(self.broker.publish(payload, topic.name, key=key, headers=headers))
        # Consuming goes on: the next valid event is handled as usual.
        self.runner.run(self.broker.publish(json.dumps(VALID[topic.name]).encode(), topic.name, key=key))

    def check(self, topic: Topic, payload: bytes | None, headers: dict[str, str] | None = None) -> None:
        """Publish `payload`, then a valid event; `payload` is handled iff the oracle decodes it."""
        # Without a content type FastStream tries JSON; with one it decodes only what that names.
        content_type = (headers or {}).get("content-type", "")
        expected = _valid(topic.event, payload) if content_type in ("", "application/json") else None
        self.publish(topic, payload, headers)
        follow_up = (topic.name, topic.event.model_validate(VALID[topic.name]))
        if expected is not None:
            event("handled")
            assert not self.dead
            assert [(name, _set_fields(e)) for name, e in self.handled] == [
                (topic.name, _set_fields(expected)), (follow_up[0], _set_fields(follow_up[1]))]
            return
        event("dead-lettered")
        assert [(name, _set_fields(e)) for name, e in self.handled] == [(follow_up[0], _set_fields(follow_up[1]))]
        assert len(self.dead) == 1, self.dead
        (dead,) = self.dead
        assert dead.topic == dlq_topic(topic.name)
        assert dead.body == payload or (not dead.body and not payload)  # bytes unchanged
        assert dead.key == f"{topic.key}-1".encode()
        assert dead.headers[DLQ_REASON].strip(), dead.headers
        assert dead.headers["x-dlq-topic"] == topic.name
        assert dead.headers["x-dlq-service"] == "properties"


@pytest.fixture(scope="module")
def consumers() -> Iterator[Consumers]:
    # Never connected: the address only has to be well formed (and the environment's is not used).
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9", security_protocol="PLAINTEXT")
    broker = make_broker(kafka, "properties", log_level=logging.CRITICAL)
    dead_letter_log = logging.getLogger("shared.kafka")
    level = dead_letter_log.level
    dead_letter_log.setLevel(logging.CRITICAL)  # a traceback per dead letter is noise here
    with asyncio.Runner() as runner:
        harness = Consumers(runner, broker)
        for topic in CONSUMED:
            harness.subscribe(topic)
        test_broker = TestKafkaBroker(broker)
        runner.run(test_broker.__aenter__())
        try:
            yield harness
        finally:
            runner.run(test_broker.__aexit__(None, None, None))
            dead_letter_log.setLevel(level)


def test_every_consumed_topic_has_a_valid_example_event() -> None:
    assert set(VALID) == {t.name for t in CONSUMED}  # a new topic needs its example here
    for topic in CONSUMED:
        assert _valid(topic.event, json.dumps(VALID[topic.name]).encode()) is not None
        assert _valid(topic.event, json.dumps(FULL[topic.name]).encode()) is not None


CONTENT_TYPES = st.sampled_from([None, "application/json", "text/plain", "application/octet-stream"])


@PROPERTY
@given(topic=st.sampled_from(CONSUMED), payload=st.none() | st.binary(max_size=200), content_type=CONTENT_TYPES)
def test_arbitrary_bytes_are_dead_lettered_and_consuming_goes_on(
        consumers: Consumers, topic: Topic, payload: bytes | None, content_type: str | None) -> None:
    # None is a tombstone (a keyed record without a value).
    consumers.check(topic, payload, {"content-type": content_type} if content_type else None)


@PROPERTY
@given(topic=st.sampled_from(CONSUMED), value=JSON_VALUES, content_type=CONTENT_TYPES)
def test_arbitrary_json_is_dead_lettered_and_consuming_goes_on(consumers: Consumers, topic: Topic, value: Any,
                                                               content_type: str | None) -> None:
    consumers.check(topic, json.dumps(value).encode(), {"content-type": content_type} if content_type else None)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path to a value nested in `value`."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    paths = []
    for key, inner in items:
        paths.append((*prefix, key))
        paths.extend(_paths(inner, (*prefix, key)))
    return paths


@st.composite
def almost_valid(draw: st.DrawFn) -> tuple[Topic, dict[str, Any], str]:
    """A valid event with one change: a field dropped, a field's value of another JSON type, or an
    unknown field added (which consumers must ignore)."""
    topic = draw(st.sampled_from(CONSUMED))
    data = copy.deepcopy(draw(st.sampled_from([VALID, FULL]))[topic.name])
    path = draw(st.sampled_from(_paths(data)))
    *parents, last = path
    parent: Any = data
    for step in parents:
        parent = parent[step]
    kind = draw(st.sampled_from(["drop", "retype", "extra"]))
    if kind == "drop":
        del parent[last]
    elif kind == "retype":
        old = parent[last]
        parent[last] = draw(JSON_VALUES.filter(lambda new: type(new) is not type(old)))
    else:
        name = draw(st.text(min_size=1, max_size=12).filter(lambda n: n not in topic.event.model_fields))
        data[name] = draw(JSON_VALUES)
        path = (name,)
    if kind == "drop" and len(path) == 1 and topic.event.model_fields[str(last)].is_required():
        assert _valid(topic.event, json.dumps(data).encode()) is None  # the oracle agrees
    return topic, data, f"{kind} {'.'.join(map(str, path))}"


@PROPERTY
@given(case=almost_valid())
def test_an_almost_valid_event_is_handled_or_dead_lettered_never_lost(consumers: Consumers,
                                                                      case: tuple[Topic, dict[str, Any], str]) -> None:
    topic, data, _change = case
    consumers.check(topic, json.dumps(data).encode(), {"content-type": "application/json"})


# ---- the Open Inference Protocol request parser ----------------------------------------------

def _parameter() -> st.SearchStrategy[pb.InferParameter]:
    return st.one_of(
        st.builds(pb.InferParameter, bool_param=st.booleans()),
        st.builds(pb.InferParameter, int64_param=st.integers(-2**63, 2**63 - 1)),
        st.builds(pb.InferParameter, string_param=st.text(max_size=10)),
        st.builds(pb.InferParameter, double_param=st.floats()),
        st.builds(pb.InferParameter, uint64_param=st.integers(0, 2**64 - 1)),
    )


PARAMETERS = st.dictionaries(st.sampled_from(["timeout", "classification", "priority"]) | st.text(max_size=8),
                             _parameter(), max_size=3)


MUTATIONS = ["inputs", "name", "datatype", "shape", "raw-cut", "raw-random", "raw-extra", "contents", "not-utf8"]


@st.composite
def infer_requests(draw: st.DrawFn) -> pb.ModelInferRequest:
    """A valid request (one BYTES input TEXT of shape [N]) with none, one or several of the
    mistakes clients make, and parameters and requested outputs of any kind."""
    items = draw(st.lists(st.text(max_size=12).map(str.encode), min_size=1, max_size=6))
    count = draw(st.sampled_from([0, 1, 1, 1, 2, 3]))  # mostly one mistake: each hides the ones after it
    mistakes = draw(st.lists(st.sampled_from(MUTATIONS), min_size=count, max_size=count, unique=True))
    for mistake in mistakes:
        event(f"mistake: {mistake}")
    if "not-utf8" in mistakes:  # a stray byte, a cut sequence, an encoded surrogate, an overlong NUL
        bad = draw(st.binary(max_size=4)) + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\x80"]))
        items.insert(draw(st.integers(0, len(items))), bad)
    request = pb.ModelInferRequest(model_name=draw(st.text(max_size=10)), model_version=draw(st.text(max_size=3)),
                                   id=draw(st.text(max_size=8)), parameters=draw(PARAMETERS))
    tensor = request.inputs.add(name=TEXT_INPUT, datatype="BYTES", shape=[len(items)], parameters=draw(PARAMETERS))
    if draw(st.booleans()):
        tensor.shape.append(1)  # [N, 1]
    raw = draw(st.booleans())
    if "inputs" in mistakes:  # none, or a second input
        if draw(st.booleans()):
            del request.inputs[:]
        else:
            request.inputs.add(name=draw(st.text(max_size=8)), datatype="BYTES", shape=[len(items)])
    if "name" in mistakes:
        tensor.name = draw(st.sampled_from(["text", "INPUT0", ""]) | st.text(max_size=8))
    if "datatype" in mistakes:
        tensor.datatype = draw(st.sampled_from(["FP32", "INT64", "bytes", ""]) | st.text(max_size=8))
    if "shape" in mistakes:
        tensor.shape[:] = draw(st.lists(st.integers(-2**63, 2**63 - 1), max_size=3))
    if not raw or "contents" in mistakes:
        tensor.contents.bytes_contents.extend(items)
        tensor.contents.int_contents.extend(draw(st.lists(st.integers(-2**31, 2**31 - 1), max_size=2)))
    if raw:
        data = encode_bytes_tensor(items)
        if "raw-cut" in mistakes:  # a length prefix or an element cut off, or bytes left over
            data = data[:draw(st.integers(0, len(data)))] + draw(st.binary(max_size=3))
        if "raw-random" in mistakes:
            data = draw(st.binary(max_size=40))
        request.raw_input_contents.append(data)
    if "raw-extra" in mistakes:
        request.raw_input_contents.append(draw(st.binary(max_size=8)))
    for _ in range(draw(st.integers(0, 3))):
        request.outputs.add(name=draw(st.sampled_from([*OUTPUTS, "probabilities", ""]) | st.text(max_size=8)),
                            parameters=draw(st.dictionaries(st.sampled_from(["classification"]) | st.text(max_size=8),
                                                            _parameter(), max_size=2)))
    return request


def _refused(exc: RequestError, *codes: grpc.StatusCode) -> None:
    assert exc.code in codes, (exc.code, exc.message)
    assert exc.message.strip()
    event(exc.code.name)


@PROPERTY
@given(request=infer_requests(), max_batch=st.just(8) | st.integers(1, 8))
def test_any_infer_request_is_parsed_or_refused_with_a_status(request: pb.ModelInferRequest, max_batch: int) -> None:
    try:
        texts = _texts_from_request(request, max_batch)
    except RequestError as exc:
        _refused(exc, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED)
        if exc.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            assert request.inputs[0].shape[0] > max_batch
        return
    event("parsed")
    (tensor,) = request.inputs
    assert (tensor.name, tensor.datatype) == (TEXT_INPUT, "BYTES")
    assert 1 <= len(texts) == tensor.shape[0] <= max_batch
    carried = decode_bytes_tensor(request.raw_input_contents[0]) if request.raw_input_contents \
        else list(tensor.contents.bytes_contents)
    assert [t.encode() for t in texts] == carried


@PROPERTY
@given(items=st.lists(st.binary(max_size=12) | st.text(max_size=12).map(str.encode), min_size=1, max_size=8),
       raw=st.booleans())
def test_any_bytes_in_a_well_formed_request_are_texts_or_refused(items: list[bytes], raw: bool) -> None:
    request = pb.ModelInferRequest(model_name="student")
    tensor = request.inputs.add(name=TEXT_INPUT, datatype="BYTES", shape=[len(items)])
    if raw:
        request.raw_input_contents.append(encode_bytes_tensor(items))
    else:
        tensor.contents.bytes_contents.extend(items)
    try:
        expected = [item.decode("utf-8") for item in items]
    except UnicodeDecodeError:
        with pytest.raises(RequestError, match="not valid UTF-8") as refused:
            _texts_from_request(request, 8)
        _refused(refused.value, grpc.StatusCode.INVALID_ARGUMENT)
        return
    event("parsed")
    assert _texts_from_request(request, 8) == expected


@PROPERTY
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=8), raw=st.booleans(), column=st.booleans())
def test_texts_round_trip_through_an_infer_request(texts: list[str], raw: bool, column: bool) -> None:
    request = text_infer_request("student", texts)
    if not raw:  # the other way clients send BYTES: typed contents instead of raw_input_contents
        del request.raw_input_contents[:]
        request.inputs[0].contents.bytes_contents.extend(t.encode() for t in texts)
    if column:
        request.inputs[0].shape.append(1)  # [N, 1], as some Triton clients send it
    assert _texts_from_request(request, 8) == texts


@PROPERTY
@given(request=infer_requests(), n_classes=st.integers(1, 6))
def test_any_requested_outputs_are_parsed_or_refused(request: pb.ModelInferRequest, n_classes: int) -> None:
    try:
        outputs = _requested_outputs(request, n_classes)
    except RequestError as exc:
        _refused(exc, grpc.StatusCode.INVALID_ARGUMENT)
        return
    event("parsed")
    assert [o.name for o in outputs] == ([o.name for o in request.outputs] or list(OUTPUTS))
    for output in outputs:
        assert output.class_count == 0 or (output.name == PROBABILITIES_OUTPUT and 1 <= output.class_count <= n_classes)


class _Context:
    """The one call `_queue_deadline` makes on a grpc.aio.ServicerContext."""

    def __init__(self, remaining: float | None) -> None:
        self.remaining = remaining

    def time_remaining(self) -> float | None:
        return self.remaining


@PROPERTY
@given(request=infer_requests(), remaining=st.none() | st.floats(-10, 1e6), now=st.floats(0, 1e9))
def test_any_request_deadline_is_parsed_or_refused(request: pb.ModelInferRequest, remaining: float | None,
                                                   now: float) -> None:
    try:
        deadline = _queue_deadline(request, _Context(remaining), now)  # type: ignore[arg-type]
    except RequestError as exc:
        _refused(exc, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.DEADLINE_EXCEEDED)
        return
    event("no deadline" if deadline is None else "deadline")
    assert deadline is None or (math.isfinite(deadline) and deadline >= now)


# ---- API keys --------------------------------------------------------------------------------

class MemoryStore(ArtifactStore):
    """The artifact store's object calls on a dict, so that the key store's own code (its JSON
    records, digests and listing) runs without an S3 server."""

    def __init__(self) -> None:  # no Minio client: nothing here talks to a server
        self.bucket = "memory"
        self.objects: dict[str, bytes] = {}

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.objects[key] = data
        return self.uri(key)

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def get_optional(self, key: str) -> bytes | None:
        return self.objects.get(key)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def list(self, prefix: str, recursive: bool = True) -> Iterator[str]:
        return iter(sorted(k for k in self.objects if k.startswith(prefix)))


@dataclass
class Access:
    runner: asyncio.Runner
    keys: KeyStore
    control: AccessControl
    known_key: str

    def authenticate(self, metadata: list[tuple[str, str]]) -> Client:
        return self.runner.run(self.control.authenticate(metadata))


@pytest.fixture(scope="module")
def access() -> Iterator[Access]:
    store = MemoryStore()
    keys = KeyStore(store)
    with ThreadPoolExecutor(1) as executor, asyncio.Runner() as runner:
        yield Access(runner, keys, AccessControl(keys, EnforcementStore(store), executor), keys.create("known", rps=5))


KEY_NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", fullmatch=True)
# gRPC hands metadata values over as str decoded from the wire, never with lone surrogates, and
# hypothesis's text() has none either.
HEADER_VALUES = st.text(max_size=30) | st.builds(
    lambda scheme, sep, key: scheme + sep + key,
    st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", ""]),
    st.sampled_from([" ", "  ", "\t", ""]),
    st.text(max_size=30) | st.just(KEY_PREFIX) | st.text(max_size=40).map(KEY_PREFIX.__add__))


@PROPERTY
@given(metadata=st.lists(st.tuples(st.sampled_from(["authorization", "user-agent"]) | st.text(max_size=10),
                                   HEADER_VALUES), max_size=3),
       known=st.booleans(), spaces=st.sampled_from(["", " ", "  "]))
def test_any_authorization_metadata_gives_a_client_or_unauthenticated(access: Access, metadata: list[tuple[str, str]],
                                                                      known: bool, spaces: str) -> None:
    if known:  # sometimes the real key, with the spacing clients get wrong
        metadata.append(("authorization", f"Bearer {spaces}{access.known_key}{spaces}"))
    try:
        client = access.authenticate(metadata)
    except RequestError as exc:
        _refused(exc, grpc.StatusCode.UNAUTHENTICATED)
        assert not known
        return
    event("authenticated")
    assert client.client_id == "known" and client.rps == 5
    assert access.known_key in dict(metadata)["authorization"]  # only ever the key itself


@PROPERTY
@given(key=st.text(max_size=60) | st.text(max_size=40).map(KEY_PREFIX.__add__))
def test_an_unknown_key_is_none_never_an_error(access: Access, key: str) -> None:
    assert access.keys.lookup(key) is None or key == access.known_key


@PROPERTY
@given(name=KEY_NAMES.filter(lambda n: n != "known"), rps=st.none() | st.floats(min_value=1e-3, max_value=1e6))
def test_a_created_key_round_trips_until_revoked(access: Access, name: str, rps: float | None) -> None:
    key = access.keys.create(name, rps=rps)
    assert key.startswith(KEY_PREFIX) and key.strip() == key
    record = access.keys.lookup(key)
    assert record is not None and (record["name"], record["client_id"], record["rps"]) == (name, name, rps)
    assert access.authenticate([("authorization", f"Bearer {key}")]) == Client(name, rps)
    access.keys.revoke(name)
    access.control.forget_client(name)  # what a key_revoked event does on every replica
    assert access.keys.lookup(key) is None
    with pytest.raises(RequestError) as refused:
        access.authenticate([("authorization", f"Bearer {key}")])
    assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED


@PROPERTY
@given(name=st.text(max_size=70) | KEY_NAMES, rps=st.none() | st.floats(allow_nan=False))
def test_a_key_is_created_for_a_valid_name_and_quota_or_refused(access: Access, name: str, rps: float | None) -> None:
    try:
        key = access.keys.create(name, rps=rps)
    except ValueError as exc:
        assert str(exc).strip()
        event("refused")
        return
    event("created")
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", name) and (rps is None or rps > 0)
    assert access.keys.lookup(key) is not None


def test_a_nan_quota_is_refused(access: Access) -> None:
    with pytest.raises(ValueError):
        access.keys.create("nan-quota", rps=math.nan)


# ---- WATERMARK_KEYS ----------------------------------------------------------------------------

KEY_IDS = st.from_regex(r"[A-Za-z0-9_.-]{1,32}", fullmatch=True)
# A secret as `new_key` makes one, or any run of printable characters that holds no separator.
SECRETS = st.text(alphabet=st.sampled_from(sorted(set(string.printable) - set(string.whitespace) - {","})),
                  min_size=16, max_size=64)


@PROPERTY
@given(spec=st.text(max_size=80) | st.lists(st.text(max_size=20), max_size=4).map(",".join)
       | st.lists(st.tuples(st.text(max_size=8), st.text(max_size=24)), max_size=3).map(
           lambda pairs: ",".join(f"{k}:{s}" for k, s in pairs)))
def test_any_watermark_keys_spec_parses_or_says_what_is_wrong(spec: str) -> None:
    try:
        keys = parse_keys(spec)
    except ValueError as exc:
        assert "WATERMARK_KEYS" in str(exc)
        event("refused")
        return
    event(f"{len(keys)} keys")
    assert len({k.key_id for k in keys}) == len(keys)
    assert all(re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", k.key_id) and len(k.secret) >= 16 for k in keys)


@PROPERTY
@given(pairs=st.lists(st.tuples(KEY_IDS, SECRETS), max_size=4, unique_by=lambda p: p[0]),
       fresh=st.booleans(), padding=st.sampled_from(["", " ", ", "]))
def test_watermark_keys_round_trip_newest_first(pairs: list[tuple[str, str]], fresh: bool, padding: str) -> None:
    specs = [f"{key_id}:{secret}" for key_id, secret in pairs]
    if fresh:
        specs.insert(0, new_key())
    keys = parse_keys(padding + ",".join(f"{padding}{s}" for s in specs) + padding)
    assert keys == [WatermarkKey(s.partition(":")[0], s.partition(":")[2].encode()) for s in specs]
    if len(keys) >= 1:
        with pytest.raises(ValueError, match="twice"):
            parse_keys(",".join([*specs, specs[0]]))
