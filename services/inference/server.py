"""The inference server: Open Inference Protocol (KServe V2) over gRPC, onnxruntime underneath.

A model has load / predict / ready (KServe's model shape): `ModelRepository` downloads a promoted
version from the registry, warms it up, then swaps it in; requests in flight finish on the version
they started with. Every answered request is offered, whole, to a bounded buffer that publishes
one `inference.requests` event per text off the request path: the texts' fingerprints are
computed there, vectorised over many requests, and a slow or absent broker drops events (counted),
never replies. Answers to clients off the watermark allow-list are watermarked (services.inference.watermarking).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import shutil
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from services.inference.access import AccessControl, RequestError
from services.inference.batching import DeadlineExpired, DynamicBatcher, QueueFull
from services.inference.metrics import InferenceMetrics
from services.inference.settings import InferenceSettings
from services.inference.watermarking import LedgerWriter, Watermarking
from shared.events import InferenceRequest, utcnow
from shared.fingerprint import batch_fingerprints, network_of, peer_address
from shared.generation import Engine, LanguageModel
from shared.oip import (
    GENERATION_INPUT,
    GENERATION_OUTPUT,
    LABEL_OUTPUT,
    PROBABILITIES_OUTPUT,
    SCORE_OUTPUT,
    TEXT_INPUT,
    decode_bytes_tensor,
    encode_bytes_tensor,
    pb,
    pb_grpc,
)
from shared.registry import ModelRegistry
from shared.telemetry import context_from_grpc_metadata, tracer
from shared.textmodel import TextClassifier

log = logging.getLogger(__name__)
SERVER_NAME = "distillery-inference"
SERVER_VERSION = "0.1.0"
OUTPUTS = (PROBABILITIES_OUTPUT, LABEL_OUTPUT, SCORE_OUTPUT)
# Outputs a key sees without the "probabilities" scope: the label and its score, not the vector.
PUBLIC_OUTPUTS = (LABEL_OUTPUT, SCORE_OUTPUT)
# Its optional inputs (also taken as request parameters), as the model configuration lists them.
GENERATION_SETTINGS = {"sampling_parameters": pb.TYPE_STRING, "max_tokens": pb.TYPE_INT32, "temperature": pb.TYPE_FP32,
                       "top_p": pb.TYPE_FP32, "seed": pb.TYPE_INT64, "stop": pb.TYPE_STRING, "ignore_eos": pb.TYPE_BOOL,
                       "exclude_input_in_output": pb.TYPE_BOOL, "apply_chat_template": pb.TYPE_BOOL,
                       "stream": pb.TYPE_BOOL}


def outputs_for(scopes: frozenset[str]) -> tuple[str, ...]:
    """The outputs a key's model has: as the protocol says, the ones a request naming none gets."""
    return OUTPUTS if "probabilities" in scopes else PUBLIC_OUTPUTS
OUTPUT_PARAMETERS = ("classification",)


# ---- models ----------------------------------------------------------------------------------

@dataclass
class LoadedModel:
    name: str
    version: str
    classifier: TextClassifier | None = None  # a text classifier, or
    generator: Engine | None = None  # a generative model (model.json kind "text-generation")
    batcher: DynamicBatcher | None = None  # set once the version is swapped in, on the event loop
    loaded_at: float = field(default_factory=time.time)

    @property
    def providers(self) -> list[str]:
        return self.generator.model.providers if self.generator else self.classifier.providers if self.classifier else []

    def classes(self) -> list[str]:
        if self.classifier is None:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"model {self.name!r} is generative: send {GENERATION_INPUT!r} (Triton's LLM convention) "
                               "or call the OpenAI-compatible API on port 8000")
        return self.classifier.classes

    def ready(self) -> bool:
        return True


class ModelRepository:
    """The models this replica serves: name -> loaded versions, and the version served by default."""

    def __init__(self, registry: ModelRegistry, cache_dir: Path, device: str, executor: ThreadPoolExecutor,
                 batching: InferenceSettings | None = None, metrics: InferenceMetrics | None = None) -> None:
        self.registry = registry
        self.metrics = metrics or InferenceMetrics()
        self.batching = batching or InferenceSettings()
        self.cache_dir = cache_dir
        self.device = device
        self.executor = executor
        self.loaded: dict[str, dict[str, LoadedModel]] = {}
        self.serving: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retiring: set[asyncio.Task] = set()
        # Versions being retired, counted: one retired, served again and retired again keeps its files
        # until its last retirement ends.
        self._retiring_versions: Counter[tuple[str, str]] = Counter()

    async def load(self, name: str, version: str) -> LoadedModel:
        """Download, warm up, then swap in a version (idempotent)."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            current = self.loaded.get(name, {}).get(version)
            if current is None:
                loop = asyncio.get_running_loop()
                current = await loop.run_in_executor(self.executor, self._load_blocking, name, version)
                if current.generator is not None:
                    self.metrics.watch_engine(name, version, current.generator)
                    current.generator.start()
                else:
                    assert current.classifier is not None
                    batcher = DynamicBatcher(current.classifier.predict, self.executor, self.batching.max_batch_size,
                                             self.batching.max_queue_delay_ms / 1000, self.batching.max_queue_texts,
                                             on_batch=self.metrics.batcher_observer(name, version))
                    current.batcher = batcher
                    self.metrics.pending.labels(name, version).set_function(lambda: batcher.queued_texts)
                    batcher.start()
                self.loaded.setdefault(name, {})[version] = current
            self.serving[name] = version
            # Keep the served version and the one before it; drop older ones.
            keep = sorted(self.loaded[name], key=int)[-2:]
            for old in [v for v in self.loaded[name] if v not in keep and v != version]:
                retired = self.loaded[name].pop(old)
                self.metrics.pending.remove(name, old)
                self._retiring_versions[(name, old)] += 1
                task = asyncio.create_task(self._retire(name, old, retired))
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
            await self._prune(name)  # what an earlier container of this pod downloaded
            binding = current.classifier is not None and current.classifier.io_binding
            log.info("serving %s version %s (%s; onnxruntime providers %s%s)", name, version,
                     "generative" if current.generator else "classifier", ", ".join(current.providers),
                     ", IOBinding" if binding else "")
            return current

    async def _retire(self, name: str, version: str, model: LoadedModel) -> None:
        """What a retired version has queued is still answered, and its generations in flight finish;
        then its files go."""
        try:
            if model.batcher is not None:
                await model.batcher.stop()
            elif model.generator is not None:
                engine = model.generator
                while engine.in_flight:
                    await asyncio.sleep(0.1)
                await asyncio.get_running_loop().run_in_executor(self.executor, engine.stop)
        finally:
            self._retiring_versions[(name, version)] -= 1
        async with self._locks[name]:
            await self._prune(name)

    async def _prune(self, name: str) -> None:
        """Delete the downloaded folders of this model's versions that are neither loaded nor being
        retired: a version a promotion, each replica process its own copy, would otherwise fill the
        cache volume (6 GiB in the manifests; a chat student is ~0.3 GB) and get the pod evicted.
        Called under the model's lock, so no download of it is under way beside it."""
        keep = set(self.loaded.get(name, {})) | {v for (n, v), count in self._retiring_versions.items()
                                                  if n == name and count > 0}
        folder = self.cache_dir / name
        # A version's folder, or a download a killed container left half done (the registry's
        # ".NAME-VERSION-*" staging folders: none is under way while the lock is held).
        stale = [p for p in folder.iterdir() if (p.name.isdigit() and p.name not in keep)
                 or p.name.startswith(f".{name}-")] if folder.is_dir() else []
        for path in stale:
            await asyncio.get_running_loop().run_in_executor(self.executor, shutil.rmtree, path, True)

    def _load_blocking(self, name: str, version: str) -> LoadedModel:
        target = self.cache_dir / name / version
        target.parent.mkdir(parents=True, exist_ok=True)
        self.registry.download(name, version, target)
        if json.loads((target / "model.json").read_text()).get("kind") == "text-generation":
            lm = LanguageModel(target, device=self.device, threads=self.batching.threads_per_process())
            lm.greedy(lm.encode("warm-up"), 2)
            return LoadedModel(name, version, generator=Engine(
                lm, max_batch=self.batching.max_sequences, max_waiting=self.batching.max_waiting_sequences,
                on_step=self.metrics.engine_observer(name, version), max_prefill_tokens=self.batching.max_prefill_tokens,
                prefix_cache_bytes=self.batching.prefix_cache_mb << 20))
        classifier = TextClassifier(target, device=self.device, threads=self.batching.threads_per_process())
        classifier.predict(["warm-up text", "a second, longer warm-up text for the batch"])
        return LoadedModel(name, version, classifier)

    async def load_promoted(self) -> list[tuple[str, str]]:
        """Load the promoted version of every model in the registry that is not served yet."""
        loop = asyncio.get_running_loop()
        promoted = await loop.run_in_executor(self.executor, self._promoted_blocking)
        changed = []
        for name, version in promoted:
            if self.serving.get(name) != version:
                try:
                    await self.load(name, version)
                    changed.append((name, version))
                except Exception:
                    log.exception("could not load %s version %s", name, version)
        return changed

    def providers(self) -> list[str]:
        """The onnxruntime execution providers the served versions really run on."""
        return sorted({p for name, version in self.serving.items() for p in self.loaded[name][version].providers[:1]})

    def _promoted_blocking(self) -> list[tuple[str, str]]:
        return [(name, v) for name in self.registry.names() if (v := self.registry.promoted(name))]

    def get(self, name: str, version: str = "") -> LoadedModel:
        versions = self.loaded.get(name)
        if not versions or name not in self.serving:
            served = ", ".join(sorted(self.serving)) or "none yet"
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"model {name!r} is not served here; served models: {served}")
        version = version or self.serving[name]
        if version not in versions:
            raise RequestError(grpc.StatusCode.NOT_FOUND,
                               f"model {name!r} has no version {version!r} loaded; loaded: {', '.join(sorted(versions, key=int))}")
        return versions[version]


# ---- request events --------------------------------------------------------------------------

@dataclass
class AnsweredRequest:
    """What the request path hands over: one request's texts and answers, as they were. Nothing
    per text is computed on the request path; the buffer makes the events."""

    request_id: str
    client_id: str
    model: str
    model_version: str
    time: Any
    texts: list[str]
    labels: list[str]
    top: np.ndarray  # the answered class per text
    probabilities: np.ndarray  # what the client's answers were made from
    outputs: list[str]
    n_classes: int
    client_network: str = ""
    user_agent: str = ""

    def events(self, fingerprints: list[dict], top_probability: np.ndarray, entropy: np.ndarray,
               ) -> list[InferenceRequest]:
        many = len(self.texts) > 1
        common = {"client_id": self.client_id, "model": self.model, "model_version": self.model_version,
                  "time": self.time, "outputs": self.outputs, "n_classes": self.n_classes,
                  "client_network": self.client_network, "user_agent": self.user_agent}
        # Built from values of known types, so not validated again: thousands a second go through here.
        return [InferenceRequest.model_construct(
            request_id=f"{self.request_id}/{i}" if many else self.request_id, top_class=self.labels[i],
            top_probability=float(top_probability[i]), entropy=float(entropy[i]), **common, **fingerprint)
            for i, fingerprint in enumerate(fingerprints)]


def answer_statistics(requests: list[AnsweredRequest]) -> tuple[np.ndarray, np.ndarray]:
    """Each answered text's top probability and entropy (nats), in order: one numpy pass per
    number of classes, not one per request."""
    top_probability = np.zeros(sum(len(r.texts) for r in requests))
    entropy = np.zeros_like(top_probability)
    offsets = np.cumsum([0] + [len(r.texts) for r in requests])
    for n_classes in {r.n_classes for r in requests}:
        chosen = [i for i, r in enumerate(requests) if r.n_classes == n_classes]
        p = np.concatenate([requests[i].probabilities for i in chosen])
        rows = np.concatenate([np.arange(offsets[i], offsets[i + 1]) for i in chosen])
        top = np.concatenate([requests[i].top for i in chosen])
        top_probability[rows] = p[np.arange(len(p)), top]
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy[rows] = np.nan_to_num(-(p * np.log(np.clip(p, 1e-12, 1.0))).sum(axis=1))
    return top_probability, entropy


def classifier_events(requests: list[AnsweredRequest]) -> list[tuple[bytes, InferenceRequest]]:
    """One event per text, keyed by client. The fingerprints and answer statistics are computed
    here, after the replies have gone, for a whole batch of requests at once."""
    fingerprints = batch_fingerprints([t for r in requests for t in r.texts])
    top_probability, entropy = answer_statistics(requests)
    keyed, start = [], 0
    for r in requests:
        end = start + len(r.texts)
        keyed += [(event.client_id.encode(), event) for event in
                  r.events(fingerprints[start:end], top_probability[start:end], entropy[start:end])]
        start = end
    return keyed


class RequestEventBuffer:
    """A bounded buffer between the request path and the broker: what a request hands over goes in
    whole, `build` turns a batch of them into (key, event) pairs off the request path, and `publish`
    takes those pairs and returns (delivery future, events) pairs (shared.kafka.KeyedBatchPublisher):
    events go out in batches, their delivery counted when the broker confirms it. Bounded in events
    (`size_of` one item: texts for a classifier request)."""

    def __init__(self, publish, maxsize: int = 10_000, publish_timeout_s: float = 5.0, batch: int = 256,
                 build=classifier_events, size_of=lambda request: len(request.texts),
                 topic: str = "inference.requests") -> None:
        self.publish = publish
        self.topic = topic
        self.build = build
        self.size_of = size_of
        self.maxsize = maxsize
        self.queue: asyncio.Queue = asyncio.Queue()
        self.queued = 0  # texts waiting
        self.publish_timeout_s = publish_timeout_s
        self.batch = batch
        self.dropped = 0
        self.published = 0
        self._task: asyncio.Task | None = None

    def offer(self, request) -> None:
        size = self.size_of(request)
        if self.queued + size > self.maxsize:
            self.dropped += size
            return
        self.queued += size
        self.queue.put_nowait(request)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inference-request-events")

    async def stop(self, drain_timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + drain_timeout_s
        while not self.queue.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._task:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            items = [await self.queue.get()]
            size = self.size_of(items[0])
            while size < self.batch and not self.queue.empty():
                items.append(self.queue.get_nowait())
                size += self.size_of(items[-1])
            self.queued -= size
            keyed = self.build(items)
            try:
                # The producer's buffer is bounded: when it is full this waits, and the queue fills.
                deliveries = await asyncio.wait_for(self.publish(keyed), self.publish_timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._dropped(len(keyed), exc)
                continue
            for delivery, count in deliveries:
                if isinstance(delivery, asyncio.Future):
                    delivery.add_done_callback(functools.partial(self._delivered, count=count))
                else:
                    self.published += count

    def _delivered(self, delivery: asyncio.Future, count: int) -> None:
        if delivery.cancelled() or delivery.exception() is not None:
            self._dropped(count, "cancelled" if delivery.cancelled() else delivery.exception())
        else:
            self.published += count

    def _dropped(self, count: int, why) -> None:
        before, self.dropped = self.dropped, self.dropped + count
        if before == 0 or before // 1000 != self.dropped // 1000:
            log.warning("%s events dropped: %d (last: %s)", self.topic, self.dropped, why)


# ---- gRPC ------------------------------------------------------------------------------------

def _texts_from_request(request: pb.ModelInferRequest, max_batch: int) -> list[str]:
    expected = f"it expects one input {TEXT_INPUT!r} (BYTES, shape [N]: N UTF-8 texts)"
    if len(request.inputs) != 1:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"model {request.model_name!r} got {len(request.inputs)} inputs; {expected}")
    tensor = request.inputs[0]
    if tensor.name != TEXT_INPUT:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"model {request.model_name!r} has no input {tensor.name!r}; {expected}")
    if tensor.datatype != "BYTES":
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"input {TEXT_INPUT!r} must be BYTES (UTF-8 texts), got {tensor.datatype or 'no datatype'}")
    shape = list(tensor.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] < 1:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"input {TEXT_INPUT!r} must have shape [N] or [N, 1] with N >= 1, got {shape}")
    count = shape[0]
    if count > max_batch:
        raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                           f"at most {max_batch} texts per request, got {count}: split the batch")
    if request.raw_input_contents:
        if len(request.raw_input_contents) != 1:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"raw_input_contents has {len(request.raw_input_contents)} entries for 1 input")
        try:
            items = decode_bytes_tensor(request.raw_input_contents[0])
        except ValueError as exc:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"input {TEXT_INPUT!r}: {exc}") from None
    else:
        items = list(tensor.contents.bytes_contents)
    if len(items) != count:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"input {TEXT_INPUT!r} has shape {shape} ({count} texts) but carries {len(items)}")
    texts = []
    for i, item in enumerate(items):
        try:
            texts.append(item.decode("utf-8"))
        except UnicodeDecodeError:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"input {TEXT_INPUT!r} element {i} is not valid UTF-8") from None
    return texts


@dataclass
class RequestedOutput:
    name: str
    class_count: int = 0  # > 0: Triton's classification extension, the top classes as "p:index:label"


def _requested_outputs(request: pb.ModelInferRequest, n_classes: int,
                       scopes: frozenset[str] = frozenset({"probabilities"})) -> list[RequestedOutput]:
    available = outputs_for(scopes)
    if not request.outputs:
        return [RequestedOutput(name) for name in available]
    wanted = []
    for output in request.outputs:
        if output.name not in OUTPUTS:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"model {request.model_name!r} has no output {output.name!r}; outputs: {', '.join(available)}")
        if output.name not in available:
            raise RequestError(grpc.StatusCode.PERMISSION_DENIED,
                               f"output {output.name!r} needs the 'probabilities' scope on your API key (an operator "
                               f"grants it: `distillery keys create NAME --scope probabilities`); without it the "
                               f"model answers {' and '.join(available)}")
        unknown = [k for k in output.parameters if k not in OUTPUT_PARAMETERS]
        if unknown:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                               f"output {output.name!r} has no parameter {unknown[0]!r}; "
                               f"supported: {', '.join(OUTPUT_PARAMETERS)}")
        count = 0
        if "classification" in output.parameters:
            count = output.parameters["classification"].int64_param
            if output.name != PROBABILITIES_OUTPUT or not 1 <= count <= n_classes:
                raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                                   f"'classification' applies to {PROBABILITIES_OUTPUT!r} with a class count from 1 "
                                   f"to {n_classes}; got {count} on {output.name!r}")
        wanted.append(RequestedOutput(output.name, int(count)))
    return wanted


def _queue_deadline(request: pb.ModelInferRequest, context: grpc.aio.ServicerContext, loop_now: float) -> float | None:
    """When the answer stops being wanted, in loop time: the gRPC deadline, or Triton's `timeout`
    request parameter (microseconds), whichever comes first."""
    limits = []
    remaining = context.time_remaining()
    if remaining is not None:
        limits.append(remaining)
    if "timeout" in request.parameters:
        timeout_us = request.parameters["timeout"].int64_param
        if timeout_us < 0:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"parameter 'timeout' is in microseconds, >= 0; got {timeout_us}")
        if timeout_us:
            limits.append(timeout_us / 1e6)
    if not limits:
        return None
    if min(limits) <= 0:
        raise RequestError(grpc.StatusCode.DEADLINE_EXCEEDED, "the request's deadline had passed on arrival")
    return loop_now + min(limits)


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, repository: ModelRepository, access: AccessControl, events: RequestEventBuffer,
                 executor: ThreadPoolExecutor, max_batch: int, client_address_header: str = "",
                 watermarking: Watermarking | None = None, ledger: LedgerWriter | None = None,
                 trace_requests: bool = True) -> None:
        self.repository = repository
        # Without an exporter a span is work nobody sees: then only requests that carry their
        # caller's trace context (traceparent) are traced, as part of the caller's trace.
        self.trace_requests = trace_requests
        # Response ids where the caller sent none: unique per process, without a uuid4 per request.
        self._id_prefix, self._ids = uuid.uuid4().hex[:16], itertools.count(1)
        self.watermarking = watermarking or Watermarking([])
        self.ledger = ledger
        # Behind a proxy the peer is the proxy: the caller's address is in this header (e.g.
        # x-forwarded-for), trusted only when the operator names it.
        self.client_address_header = client_address_header.lower()
        self.access = access
        self.events = events
        self.executor = executor
        self.max_batch = max_batch
        self.metrics = repository.metrics
        self.ready = False
        self.tracer = tracer("distillery.inference")
        # Generative models over OIP (services.inference.oip_generate.GenerativeOip), set by the app.
        self.generative: Any = None

    async def ServerLive(self, request, context):
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request, context):
        return pb.ServerReadyResponse(ready=self.ready)

    async def ModelReady(self, request, context):
        try:
            return pb.ModelReadyResponse(ready=self.repository.get(request.name, request.version).ready())
        except RequestError:
            return pb.ModelReadyResponse(ready=False)

    async def ServerMetadata(self, request, context):
        # The protocol has no field for it, so the execution provider is listed as an extension.
        providers = [f"onnxruntime:{p}" for p in self.repository.providers()]
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=SERVER_VERSION,
                                         extensions=["model_repository", "classification", *providers])

    async def ModelMetadata(self, request, context):
        try:
            client = await self.access.authenticate(context.invocation_metadata())
            model = self.repository.get(request.name, request.version)
        except RequestError as exc:
            await context.abort(exc.code, exc.message)
        meta = pb.ModelMetadataResponse(name=model.name, platform="onnxruntime_onnx",
                                        versions=sorted(self.repository.loaded[model.name], key=int))
        if model.generator is not None:
            meta.inputs.add(name=GENERATION_INPUT, datatype="BYTES", shape=[1])
            meta.outputs.add(name=GENERATION_OUTPUT, datatype="BYTES", shape=[-1])
            return meta
        meta.inputs.add(name=TEXT_INPUT, datatype="BYTES", shape=[-1])
        if PROBABILITIES_OUTPUT in outputs_for(client.scopes):
            probabilities = meta.outputs.add(name=PROBABILITIES_OUTPUT, datatype="FP32",
                                             shape=[-1, len(model.classes())])
            probabilities.parameters["classes"].string_param = json.dumps(model.classes())
        meta.outputs.add(name=LABEL_OUTPUT, datatype="BYTES", shape=[-1])
        meta.outputs.add(name=SCORE_OUTPUT, datatype="FP32", shape=[-1])
        return meta

    async def ModelInfer(self, request, context):
        arrived = time.perf_counter()
        loop = asyncio.get_running_loop()
        metadata = context.invocation_metadata()
        traced = self.trace_requests or any(key == "traceparent" for key, _ in metadata)
        with self.tracer.start_as_current_span(
            "ModelInfer", context=context_from_grpc_metadata(metadata), kind=trace.SpanKind.SERVER,
            attributes={"model": request.model_name},
        ) if traced else contextlib.nullcontext(trace.INVALID_SPAN) as span:
            model = None
            try:
                if not self.ready:  # a retry finds a replica, or this one, ready
                    raise RequestError(grpc.StatusCode.UNAVAILABLE, "the server is loading its models: retry shortly")
                client = await self.access.authenticate(metadata)
                span.set_attribute("client_id", client.client_id)
                try:
                    self.access.admit(client)
                except RequestError as exc:
                    self.metrics.refused.labels(exc.code.name.lower()).inc()  # who: in the request events
                    raise
                model = self.repository.get(request.model_name, request.model_version)
                if model.generator is not None and self.generative is not None:
                    response = await self.generative.infer(request, client, model, self._caller(context), metadata)
                    self.metrics.success.labels(model.name, model.version).inc()
                    return response
                texts = _texts_from_request(request, self.max_batch)
                outputs = _requested_outputs(request, len(model.classes()), client.scopes)
                deadline = _queue_deadline(request, context, loop.time())
                span.set_attributes({"model_version": model.version, "batch": len(texts)})
                assert model.batcher is not None  # set before a version is swapped in, so before it is served
                try:
                    probabilities = await model.batcher.submit(texts, deadline)
                except QueueFull as exc:
                    raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED, f"model {model.name!r}: {exc}") from None
                except DeadlineExpired as exc:
                    raise RequestError(grpc.StatusCode.DEADLINE_EXCEEDED, f"model {model.name!r}: {exc}") from None
            except RequestError as exc:
                span.set_status(trace.StatusCode.ERROR, exc.message)
                if model is not None:
                    self.metrics.failure.labels(model.name, model.version, exc.code.name.lower()).inc()
                await context.abort(exc.code, exc.message)
            assert model is not None  # context.abort raises: past it, every request has its model
            probabilities = self._watermark(model, texts, probabilities, client.client_id)
            response = self._respond(request, model, texts, probabilities, outputs, client.client_id,
                                     self._caller(context))
            self.metrics.success.labels(model.name, model.version).inc()
            self.metrics.request_us.labels(model.name, model.version).inc((time.perf_counter() - arrived) * 1e6)
            return response

    async def ModelStreamInfer(self, request_iterator, context):
        """Generative models' tokens as they come (Triton's decoupled streaming)."""
        if self.generative is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "streaming serves generative models, and none is set up")
        async for response in self.generative.stream(request_iterator, context.invocation_metadata(),
                                                     self._caller(context)):
            yield response

    async def ModelConfig(self, request, context):
        """Triton's model configuration: what a model takes and gives, and whether it streams."""
        try:
            await self.access.authenticate(context.invocation_metadata())
            model = self.repository.get(request.name, request.version)
        except RequestError as exc:
            await context.abort(exc.code, exc.message)
        config = pb.ModelConfig(name=model.name, platform="onnxruntime_onnx", backend="distillery", max_batch_size=0)
        if model.generator is not None:
            config.input.add(name=GENERATION_INPUT, data_type=pb.TYPE_STRING, dims=[1])
            for name, kind in GENERATION_SETTINGS.items():
                config.input.add(name=name, data_type=kind, dims=[-1 if name == "stop" else 1], optional=True)
            config.output.add(name=GENERATION_OUTPUT, data_type=pb.TYPE_STRING, dims=[-1])
            config.model_transaction_policy.decoupled = True
        else:
            config.input.add(name=TEXT_INPUT, data_type=pb.TYPE_STRING, dims=[-1])
            config.output.add(name=PROBABILITIES_OUTPUT, data_type=pb.TYPE_FP32, dims=[-1, len(model.classes())])
            config.output.add(name=LABEL_OUTPUT, data_type=pb.TYPE_STRING, dims=[-1])
            config.output.add(name=SCORE_OUTPUT, data_type=pb.TYPE_FP32, dims=[-1])
        return pb.ModelConfigResponse(config=config)

    def _watermark(self, model: LoadedModel, texts: list[str], probabilities: np.ndarray, client_id: str) -> np.ndarray:
        fraction = self.watermarking.fraction_for(client_id, self.access.under_alert(client_id))
        probabilities, marked = self.watermarking.apply(texts, probabilities, fraction)
        if marked:
            key = self.watermarking.key
            assert key is not None  # only a key marks rows
            self.metrics.watermarked.labels(model.name, model.version).inc(len(marked))
            for row, true, answer in marked:
                if self.ledger is not None:
                    self.ledger.record(client_id, model.name, model.version, key.key_id, fraction,
                                       texts[row], model.classes(), true, answer)
        return probabilities

    def _caller(self, context) -> tuple[str, str]:
        """The caller's network and user agent, for the detector to link accounts."""
        address, agent = "", ""
        for key, value in context.invocation_metadata():
            if key == "user-agent":
                agent = value
            elif self.client_address_header and key == self.client_address_header:
                address = value.split(",")[0].strip()  # the first hop is the client
        return network_of(address or peer_address(context.peer())), agent[:200]

    def _respond(self, request, model: LoadedModel, texts: list[str], probabilities: np.ndarray,
                 outputs: list[RequestedOutput], client_id: str, caller: tuple[str, str] = ("", "")) -> pb.ModelInferResponse:
        probabilities = np.ascontiguousarray(probabilities, dtype="<f4")
        top = probabilities.argmax(axis=1)
        classes = model.classes()
        labels = [classes[i] for i in top]
        response = pb.ModelInferResponse(model_name=model.name, model_version=model.version,
                                         id=request.id or f"{self._id_prefix}-{next(self._ids)}")
        for output in outputs:
            if output.class_count:
                # Triton's classification format: "<probability>:<class index>:<label>", best first.
                best = np.argsort(-probabilities, axis=1, kind="stable")[:, :output.class_count]
                items = [f"{probabilities[r, c]:f}:{c}:{classes[c]}".encode() for r in range(len(texts)) for c in best[r]]
                response.outputs.add(name=output.name, datatype="BYTES", shape=[len(texts), output.class_count])
                response.raw_output_contents.append(encode_bytes_tensor(items))
            elif output.name == PROBABILITIES_OUTPUT:
                response.outputs.add(name=output.name, datatype="FP32", shape=list(probabilities.shape))
                response.raw_output_contents.append(probabilities.tobytes())
            elif output.name == SCORE_OUTPUT:
                scores = np.ascontiguousarray(probabilities[np.arange(len(texts)), top], dtype="<f4")
                response.outputs.add(name=output.name, datatype="FP32", shape=[len(texts)])
                response.raw_output_contents.append(scores.tobytes())
            else:
                response.outputs.add(name=output.name, datatype="BYTES", shape=[len(labels)])
                response.raw_output_contents.append(encode_bytes_tensor([label.encode() for label in labels]))
        # What the client saw of the distribution: all of it, the top k, or only the label and score.
        output_names = [f"{o.name}:top{o.class_count}" if o.class_count else o.name for o in outputs]
        self.events.offer(AnsweredRequest(
            request_id=response.id, client_id=client_id, model=model.name, model_version=model.version,
            time=utcnow(), texts=texts, labels=labels, top=top, probabilities=probabilities, outputs=output_names,
            n_classes=probabilities.shape[1], client_network=caller[0], user_agent=caller[1]))
        return response


class InferenceServer:
    """The gRPC server, with the standard health service and reflection."""

    def __init__(self, servicer: InferenceServicer, address: str, max_message_bytes: int = 64 << 20) -> None:
        self.servicer = servicer
        self.address = address
        self.max_message_bytes = max_message_bytes
        self.port = 0

    async def start(self) -> None:
        # Built here, not in __init__: a grpc.aio server belongs to the event loop that makes it.
        self.server = grpc.aio.server(options=[("grpc.max_receive_message_length", self.max_message_bytes),
                                               ("grpc.max_send_message_length", self.max_message_bytes)])
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(self.servicer, self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        service_names = (pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name,
                         health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(service_names, self.server)
        try:
            self.port = self.server.add_insecure_port(self.address)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise RuntimeError(f"cannot listen on {self.address}: the port is in use or the address is wrong")
        await self.server.start()
        await self.set_serving(False)

    async def set_serving(self, ready: bool) -> None:
        self.servicer.ready = ready
        status = health_pb2.HealthCheckResponse.SERVING if ready else health_pb2.HealthCheckResponse.NOT_SERVING
        await self.health.set("", status)
        await self.health.set(pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name, status)

    async def stop(self, grace_s: float = 5.0) -> None:
        await self.set_serving(False)
        await self.server.stop(grace_s)
