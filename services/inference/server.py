"""The inference server: Open Inference Protocol (KServe V2) over gRPC, onnxruntime underneath.

A model has load / predict / ready (KServe's model shape): `ModelRepository` downloads a promoted
version from the registry, warms it up, then swaps it in; requests in flight finish on the version
they started with. Every answered text is offered to a bounded buffer that publishes
`inference.requests` off the request path: a slow or absent broker drops events (counted), never
replies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace

from services.inference.batching import DynamicBatcher, QueueFull
from shared.events import InferenceRequest, utcnow
from shared.fingerprint import simhash_hex, text_sha256
from shared.keys import KeyStore, key_digest
from shared.oip import LABEL_OUTPUT, PROBABILITIES_OUTPUT, TEXT_INPUT, decode_bytes_tensor, encode_bytes_tensor, pb, pb_grpc
from shared.registry import ModelRegistry
from shared.telemetry import context_from_grpc_metadata, tracer
from shared.textmodel import TextClassifier

log = logging.getLogger(__name__)
SERVER_NAME = "distillery-inference"
SERVER_VERSION = "0.1.0"
OUTPUTS = (PROBABILITIES_OUTPUT, LABEL_OUTPUT)


class RequestError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---- models ----------------------------------------------------------------------------------

@dataclass
class BatchingConfig:
    max_batch_size: int = 64  # texts run together
    # How long the first request of a batch waits for company; 0 (Triton's default): only what has
    # queued while the previous batch ran goes with it.
    max_queue_delay_ms: float = 0.0
    max_queue_texts: int = 4096  # texts waiting per model version; beyond, RESOURCE_EXHAUSTED

@dataclass
class LoadedModel:
    name: str
    version: str
    classifier: TextClassifier
    batcher: DynamicBatcher | None = None  # set once the version is swapped in, on the event loop
    loaded_at: float = field(default_factory=time.time)

    def ready(self) -> bool:
        return True


class ModelRepository:
    """The models this replica serves: name -> loaded versions, and the version served by default."""

    def __init__(self, registry: ModelRegistry, cache_dir: Path, device: str, executor: ThreadPoolExecutor,
                 batching: BatchingConfig | None = None) -> None:
        self.registry = registry
        self.batching = batching or BatchingConfig()
        self.cache_dir = cache_dir
        self.device = device
        self.executor = executor
        self.loaded: dict[str, dict[str, LoadedModel]] = {}
        self.serving: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retiring: set[asyncio.Task] = set()

    async def load(self, name: str, version: str) -> LoadedModel:
        """Download, warm up, then swap in a version (idempotent)."""
        async with self._locks.setdefault(name, asyncio.Lock()):
            current = self.loaded.get(name, {}).get(version)
            if current is None:
                loop = asyncio.get_running_loop()
                current = await loop.run_in_executor(self.executor, self._load_blocking, name, version)
                current.batcher = DynamicBatcher(current.classifier.predict, self.executor, self.batching.max_batch_size,
                                                 self.batching.max_queue_delay_ms / 1000, self.batching.max_queue_texts)
                current.batcher.start()
                self.loaded.setdefault(name, {})[version] = current
            self.serving[name] = version
            # Keep the served version and the one before it; drop older ones.
            keep = sorted(self.loaded[name], key=int)[-2:]
            for old in [v for v in self.loaded[name] if v not in keep and v != version]:
                retired = self.loaded[name].pop(old)
                if retired.batcher:  # what it has queued is still answered
                    task = asyncio.create_task(retired.batcher.stop())
                    self._retiring.add(task)
                    task.add_done_callback(self._retiring.discard)
            log.info("serving %s version %s (providers %s)", name, version, current.classifier.providers)
            return current

    def _load_blocking(self, name: str, version: str) -> LoadedModel:
        target = self.cache_dir / name / version
        target.parent.mkdir(parents=True, exist_ok=True)
        self.registry.download(name, version, target)
        classifier = TextClassifier(target, device=self.device)
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

class RequestEventBuffer:
    """A bounded buffer between the request path and the broker."""

    def __init__(self, publish, maxsize: int = 10_000, publish_timeout_s: float = 5.0) -> None:
        self.publish = publish
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self.publish_timeout_s = publish_timeout_s
        self.dropped = 0
        self.published = 0
        self._task: asyncio.Task | None = None

    def offer(self, record: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(record)
        except asyncio.QueueFull:
            self.dropped += 1

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
            record = await self.queue.get()
            # Fingerprints are computed here, after the reply has gone.
            text = record.pop("text")
            event = InferenceRequest(text_sha256=text_sha256(text), text_simhash=simhash_hex(text),
                                     text_chars=len(text), **record)
            try:
                await asyncio.wait_for(self.publish(event, key=event.client_id.encode()), self.publish_timeout_s)
                self.published += 1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.dropped += 1
                if self.dropped in (1, 10, 100) or self.dropped % 1000 == 0:
                    log.warning("inference.requests events dropped: %d (last: %s)", self.dropped, exc)


# ---- gRPC ------------------------------------------------------------------------------------

class KeyCache:
    """API key lookups against the key store. A key seen valid is trusted for `ttl_s`; an unknown
    key is looked up again after `negative_ttl_s`, so a new key works at once."""

    def __init__(self, keys: KeyStore, executor: ThreadPoolExecutor, ttl_s: float = 10.0,
                 negative_ttl_s: float = 1.0) -> None:
        self.keys = keys
        self.executor = executor
        self.ttl_s = ttl_s
        self.negative_ttl_s = negative_ttl_s
        self._cache: dict[str, tuple[dict | None, float]] = {}

    async def client_id(self, key: str) -> str | None:
        digest = key_digest(key)
        cached = self._cache.get(digest)
        now = time.monotonic()
        if cached and cached[1] > now:
            record = cached[0]
        else:
            record = await asyncio.get_running_loop().run_in_executor(self.executor, self.keys.lookup, key)
            self._cache[digest] = (record, now + (self.ttl_s if record else self.negative_ttl_s))
        return record["client_id"] if record else None


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


def _requested_outputs(request: pb.ModelInferRequest) -> list[str]:
    names = [o.name for o in request.outputs] or list(OUTPUTS)
    unknown = [n for n in names if n not in OUTPUTS]
    if unknown:
        raise RequestError(grpc.StatusCode.INVALID_ARGUMENT,
                           f"model {request.model_name!r} has no output {unknown[0]!r}; outputs: {', '.join(OUTPUTS)}")
    return names


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
    def __init__(self, repository: ModelRepository, keys: KeyCache, events: RequestEventBuffer,
                 executor: ThreadPoolExecutor, max_batch: int) -> None:
        self.repository = repository
        self.keys = keys
        self.events = events
        self.executor = executor
        self.max_batch = max_batch
        self.ready = False
        self.tracer = tracer("distillery.inference")

    async def _authenticate(self, context: grpc.aio.ServicerContext) -> str:
        metadata = dict(context.invocation_metadata() or ())
        header = metadata.get("authorization", "")
        if not header:
            raise RequestError(grpc.StatusCode.UNAUTHENTICATED,
                               "missing API key: send gRPC metadata 'authorization: Bearer <key>' "
                               "(an operator creates one with `distillery keys create NAME`)")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise RequestError(grpc.StatusCode.UNAUTHENTICATED,
                               "malformed authorization metadata: expected 'Bearer <key>'")
        client_id = await self.keys.client_id(key.strip())
        if client_id is None:
            raise RequestError(grpc.StatusCode.UNAUTHENTICATED, "unknown or revoked API key")
        return client_id

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
        return pb.ServerMetadataResponse(name=SERVER_NAME, version=SERVER_VERSION, extensions=["model_repository"])

    async def ModelMetadata(self, request, context):
        try:
            await self._authenticate(context)
            model = self.repository.get(request.name, request.version)
        except RequestError as exc:
            await context.abort(exc.code, exc.message)
        meta = pb.ModelMetadataResponse(name=model.name, platform="onnxruntime_onnx",
                                        versions=sorted(self.repository.loaded[model.name], key=int))
        meta.inputs.add(name=TEXT_INPUT, datatype="BYTES", shape=[-1])
        probabilities = meta.outputs.add(name=PROBABILITIES_OUTPUT, datatype="FP32",
                                         shape=[-1, len(model.classifier.classes)])
        probabilities.parameters["classes"].string_param = json.dumps(model.classifier.classes)
        meta.outputs.add(name=LABEL_OUTPUT, datatype="BYTES", shape=[-1])
        return meta

    async def ModelInfer(self, request, context):
        with self.tracer.start_as_current_span(
            "ModelInfer", context=context_from_grpc_metadata(context.invocation_metadata()),
            kind=trace.SpanKind.SERVER, attributes={"model": request.model_name},
        ) as span:
            try:
                client_id = await self._authenticate(context)
                model = self.repository.get(request.model_name, request.model_version)
                texts = _texts_from_request(request, self.max_batch)
                outputs = _requested_outputs(request)
            except RequestError as exc:
                span.set_status(trace.StatusCode.ERROR, exc.message)
                await context.abort(exc.code, exc.message)
            span.set_attributes({"client_id": client_id, "model_version": model.version, "batch": len(texts)})
            try:
                probabilities = await model.batcher.submit(texts)
            except QueueFull as exc:
                span.set_status(trace.StatusCode.ERROR, str(exc))
                await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, f"model {model.name!r}: {exc}")
            return self._respond(request, model, texts, probabilities, outputs, client_id)

    def _respond(self, request, model: LoadedModel, texts: list[str], probabilities: np.ndarray,
                 outputs: list[str], client_id: str) -> pb.ModelInferResponse:
        probabilities = np.ascontiguousarray(probabilities, dtype="<f4")
        top = probabilities.argmax(axis=1)
        labels = [model.classifier.classes[i] for i in top]
        response = pb.ModelInferResponse(model_name=model.name, model_version=model.version,
                                         id=request.id or uuid.uuid4().hex)
        for name in outputs:
            if name == PROBABILITIES_OUTPUT:
                response.outputs.add(name=name, datatype="FP32", shape=list(probabilities.shape))
                response.raw_output_contents.append(probabilities.tobytes())
            else:
                response.outputs.add(name=name, datatype="BYTES", shape=[len(labels)])
                response.raw_output_contents.append(encode_bytes_tensor([label.encode() for label in labels]))
        clipped = np.clip(probabilities, 1e-12, 1.0)
        entropy = -(probabilities * np.log(clipped)).sum(axis=1)
        now = utcnow()
        for i, text in enumerate(texts):
            self.events.offer({
                "request_id": f"{response.id}/{i}" if len(texts) > 1 else response.id,
                "client_id": client_id, "model": model.name, "model_version": model.version, "time": now,
                "text": text, "top_class": labels[i], "top_probability": float(probabilities[i, top[i]]),
                "entropy": float(entropy[i]) if math.isfinite(entropy[i]) else 0.0, "outputs": outputs,
                "n_classes": probabilities.shape[1],
            })
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
