"""The inference service in process, against the real S3 server and broker: the Open Inference
Protocol answers, and bad requests get the status and a message a person can act on."""

from __future__ import annotations

import asyncio
import json

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.inference.server import (
    RequestEventBuffer,
)
from shared.events import InferenceRequest
from shared.kafka import make_broker
from shared.keys import KeyStore
from shared.oip import (
    OipClient,
    encode_bytes_tensor,
    labels_from_response,
    pb,
    probabilities_from_response,
)

pytestmark = pytest.mark.stack




async def status_of(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return info.value.code(), info.value.details()


async def test_teacher_answers_with_probabilities_and_labels(served):
    async with OipClient(served["url"], served["key"]) as client:
        classes = await client.classes("teacher")
        response = await client.infer("teacher", ["a domestic animal that barks", "to travel on foot"])
    probabilities = probabilities_from_response(response)
    assert probabilities.shape == (2, len(classes)) == (2, 45)
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert labels_from_response(response) == [classes[i] for i in probabilities.argmax(axis=1)]
    assert labels_from_response(response)[0] == "noun.animal"


async def test_typed_contents_and_output_selection(served):
    request = pb.ModelInferRequest(model_name="teacher")
    tensor = request.inputs.add(name="TEXT", datatype="BYTES", shape=[1, 1])
    tensor.contents.bytes_contents.append(b"a sweet yellow fruit")
    request.outputs.add(name="LABEL")
    async with OipClient(served["url"], served["key"]) as client:
        response = await client.stub.ModelInfer(request, metadata=client._metadata())
    assert [o.name for o in response.outputs] == ["LABEL"]
    assert labels_from_response(response) == ["noun.food"]


async def test_health_metadata_and_readiness(served):
    async with OipClient(served["url"], served["key"]) as client:
        health = health_pb2_grpc.HealthStub(client.channel)
        assert (await health.Check(health_pb2.HealthCheckRequest())).status == health_pb2.HealthCheckResponse.SERVING
        assert (await client.stub.ServerLive(pb.ServerLiveRequest())).live
        assert (await client.stub.ServerReady(pb.ServerReadyRequest())).ready
        assert (await client.stub.ModelReady(pb.ModelReadyRequest(name="teacher"))).ready
        assert not (await client.stub.ModelReady(pb.ModelReadyRequest(name="teacher", version="99"))).ready
        meta = await client.stub.ModelMetadata(pb.ModelMetadataRequest(name="teacher"), metadata=client._metadata())
    assert meta.inputs[0].name == "TEXT" and meta.inputs[0].datatype == "BYTES"
    assert json.loads(meta.outputs[0].parameters["classes"].string_param)[0] == "adj.all"


async def test_every_answered_text_is_published_to_inference_requests(served, stack):
    seen: list[InferenceRequest] = []
    broker = make_broker(stack.config.kafka(), "test-reader", logger=None)

    @broker.subscriber("inference.requests", group_id=None, auto_offset_reset="earliest")
    async def collect(event: InferenceRequest) -> None:
        seen.append(event)

    async with broker:
        await broker.start()
        async with OipClient(served["url"], served["key"]) as client:
            await client.infer("teacher", ["first text of a pair", "second text of a pair"], request_id="pair-1")
        for _ in range(100):
            if sum(e.request_id.startswith("pair-1") for e in seen) == 2:
                break
            await asyncio.sleep(0.1)
    mine = [e for e in seen if e.request_id.startswith("pair-1")]
    assert len(mine) == 2 and {e.client_id for e in mine} == {"test-client"}
    assert all(len(e.text_sha256) == 64 and e.n_classes == 45 for e in mine)


async def test_a_stuck_broker_never_holds_a_reply(served):
    never = asyncio.Event()

    async def stuck_publish(*args, **kwargs):
        await never.wait()

    buffer = RequestEventBuffer(stuck_publish, maxsize=2, publish_timeout_s=60)
    buffer.start()
    servicer = served["servicer"]
    original, servicer.events = servicer.events, buffer
    try:
        async with OipClient(served["url"], served["key"], timeout_s=5) as client:
            for _ in range(3):
                await client.infer("teacher", ["one", "two"])
    finally:
        servicer.events = original
        await buffer.stop(0)
    # Replies went out; of 6 events at most 2 are stuck in the publish and 2 wait: the rest are counted.
    assert buffer.dropped >= 2


@pytest.mark.parametrize("mutate, code, fragment", [
    (lambda r: r.inputs[0].__setattr__("name", "INPUT0"), grpc.StatusCode.INVALID_ARGUMENT, "has no input 'INPUT0'"),
    (lambda r: r.inputs[0].__setattr__("datatype", "FP32"), grpc.StatusCode.INVALID_ARGUMENT, "must be BYTES"),
    (lambda r: r.inputs[0].shape.extend([3]), grpc.StatusCode.INVALID_ARGUMENT, "shape [N] or [N, 1]"),
    (lambda r: r.inputs[0].shape.__setitem__(0, 5), grpc.StatusCode.INVALID_ARGUMENT, "carries 2"),
    (lambda r: r.raw_input_contents.__setitem__(0, encode_bytes_tensor([b"ok", b"\xff\xfe"])),
     grpc.StatusCode.INVALID_ARGUMENT, "element 1 is not valid UTF-8"),
    (lambda r: r.raw_input_contents.__setitem__(0, encode_bytes_tensor([b"ok", b"ok"])[:-1]),
     grpc.StatusCode.INVALID_ARGUMENT, "truncated"),
    (lambda r: r.outputs.add(name="EMBEDDING"), grpc.StatusCode.INVALID_ARGUMENT, "no output 'EMBEDDING'"),
    (lambda r: r.__setattr__("model_name", "gpt-9"), grpc.StatusCode.NOT_FOUND, "not served here; served models:"),
    (lambda r: r.__setattr__("model_version", "42"), grpc.StatusCode.NOT_FOUND, "no version '42'"),
])
async def test_bad_requests_get_a_status_and_an_actionable_message(served, mutate, code, fragment):
    from shared.oip import text_infer_request

    request = text_infer_request("teacher", ["one", "two"])
    mutate(request)
    async with OipClient(served["url"], served["key"]) as client:
        got, details = await status_of(client.stub.ModelInfer(request, metadata=client._metadata()))
    assert got == code and fragment in details, details


async def test_oversized_batches_are_refused(served):
    async with OipClient(served["url"], served["key"]) as client:
        got, details = await status_of(client.infer("teacher", ["t"] * 65))
    assert got == grpc.StatusCode.RESOURCE_EXHAUSTED and "at most 64 texts" in details


@pytest.mark.parametrize("key, fragment", [("", "missing API key"), ("dk_not-a-real-key", "unknown or revoked")])
async def test_callers_without_a_valid_key_are_unauthenticated(served, key, fragment):
    async with OipClient(served["url"], key) as client:
        got, details = await status_of(client.infer("teacher", ["hello"]))
    assert got == grpc.StatusCode.UNAUTHENTICATED and fragment in details


async def test_a_new_key_works_at_once(served, store):
    key = KeyStore(store).create("brand-new")
    async with OipClient(served["url"], key) as client:
        response = await client.infer("teacher", ["hello"])
    assert response.model_name == "teacher"


async def test_concurrent_requests_are_batched_and_answered_as_if_alone(served):
    texts = [f"a gloss about thing number {i} and its {'very ' * (i % 5)}particular use" for i in range(48)]
    model = served["servicer"].repository.get("teacher")
    alone = np.concatenate([model.classifier.predict([t]) for t in texts])
    before = model.batcher.stats.batches, model.batcher.stats.requests
    async with OipClient(served["url"], served["key"]) as client:
        responses = await asyncio.gather(*(client.infer("teacher", [t]) for t in texts))
    together = np.concatenate([probabilities_from_response(r) for r in responses])
    # Padding to the batch's longest text changes nothing but float rounding.
    assert np.allclose(together, alone, atol=1e-5)
    batches = model.batcher.stats.batches - before[0]
    assert model.batcher.stats.requests - before[1] == 48
    assert batches < 48, "48 concurrent one-text requests ran one by one"


async def test_a_full_model_queue_answers_resource_exhausted_at_once(served):
    batcher = served["servicer"].repository.get("teacher").batcher
    saved = batcher.max_queue_texts
    batcher.max_queue_texts = 2  # two texts may wait; the rest must be refused, not queued
    try:
        async with OipClient(served["url"], served["key"]) as client:
            results = await asyncio.gather(*(client.infer("teacher", ["a long gloss " * 20]) for _ in range(16)),
                                           return_exceptions=True)
    finally:
        batcher.max_queue_texts = saved
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    answered = [r for r in results if not isinstance(r, Exception)]
    assert refused and answered
    assert all(r.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "queue is full" in r.details() for r in refused)


async def test_a_new_version_swaps_in_under_load_without_a_failed_request(served, store, teacher_dir):
    from shared.registry import ModelRegistry

    repository = served["servicer"].repository
    registry = ModelRegistry(store)
    before = repository.serving["teacher"]
    stop = asyncio.Event()
    versions: list[str] = []
    failures: list[Exception] = []

    async def load_loop(client: OipClient, i: int) -> None:
        while not stop.is_set():
            try:
                response = await client.infer("teacher", [f"a gloss under load number {i}"])
                versions.append(response.model_version)
            except Exception as exc:
                failures.append(exc)

    async with OipClient(served["url"], served["key"]) as client:
        tasks = [asyncio.create_task(load_loop(client, i)) for i in range(8)]
        await asyncio.sleep(1.0)
        for _ in range(2):  # two promotions: the oldest version is retired while requests flow
            version, _ = await asyncio.to_thread(registry.register, "teacher", teacher_dir)
            await asyncio.to_thread(registry.promote, "teacher", version)
            await repository.load("teacher", version)
            await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
    assert not failures, failures[:3]
    assert versions[0] == before and versions[-1] == version and version != before
    assert len(repository.loaded["teacher"]) == 2  # the served version and the one before it
    # The retired version's files leave the cache once its queue is answered: a promotion a day must
    # not fill the pod's cache volume.
    folder = repository.cache_dir / "teacher"
    for _ in range(600):
        if {p.name for p in folder.iterdir()} == set(repository.loaded["teacher"]):
            break
        await asyncio.sleep(0.1)
    assert {p.name for p in folder.iterdir()} == set(repository.loaded["teacher"])


async def test_server_reflection_lists_and_describes_the_services(served):
    """What grpcurl and Postman use to call the service without its proto."""
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    def reflect():
        with grpc.insecure_channel(served["url"]) as channel:  # the reflection client is synchronous
            database = ProtoReflectionDescriptorDatabase(channel)
            services = set(database.get_services())
            proto = database.FindFileContainingSymbol("inference.GRPCInferenceService")
            return services, proto

    services, proto = await asyncio.to_thread(reflect)
    assert {"inference.GRPCInferenceService", "grpc.health.v1.Health"} <= services
    (service,) = [s for s in proto.service if s.name == "GRPCInferenceService"]
    assert {m.name for m in service.method} == {"ServerLive", "ServerReady", "ModelReady", "ServerMetadata",
                                                 "ModelMetadata", "ModelInfer", "ModelStreamInfer", "ModelConfig"}


async def test_a_request_is_traced_as_a_child_of_the_callers_span(served):
    """The caller's trace context travels in gRPC metadata; the server's ModelInfer span joins it."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared.telemetry import tracer, tracer_provider

    exporter = InMemorySpanExporter()
    tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    async with OipClient(served["url"], served["key"]) as client:
        with tracer("test.caller").start_as_current_span("caller") as caller:
            await client.infer("teacher", ["a traced request"], request_id="traced-1")
    exporter.shutdown()  # stops recording; the provider keeps its other processors
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "ModelInfer"]
    assert span.context.trace_id == caller.get_span_context().trace_id
    assert span.parent is not None and span.parent.span_id == caller.get_span_context().span_id
    assert span.attributes["model"] == "teacher" and span.attributes["client_id"] == "test-client"
    assert span.attributes["batch"] == 1 and span.kind.name == "SERVER"
