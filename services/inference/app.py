"""inference: serves the registry's promoted models over gRPC (Open Inference Protocol), loads
each newly promoted version without a restart, publishes every answered request, enforces quotas
and the abuse-alert policy, watermarks answers (recorded in a ledger in S3), and exports Prometheus
metrics."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from services.inference.access import AccessControl
from services.inference.generative import GenerationService, generation_events
from services.inference.metrics import InferenceMetrics
from services.inference.oip_generate import GenerativeOip
from services.inference.openai_api import OpenAIServer, create_openai_app
from services.inference.server import (
    InferenceServer,
    InferenceServicer,
    ModelRepository,
    RequestEventBuffer,
)
from services.inference.settings import InferenceServiceSettings
from services.inference.watermarking import LedgerWriter, Watermarking
from shared.events import AbuseAlert, AccessChange, InferenceGeneration, InferenceRequest, ModelPromoted
from shared.kafka import KeyedBatchPublisher
from shared.keys import EnforcementStore, KeyStore
from shared.registry import ModelRegistry
from shared.service import create_service
from shared.store import ArtifactStore
from shared.watermark import parse_keys

settings = InferenceServiceSettings()
config = settings.inference
metrics = InferenceMetrics()
broker, app, log = create_service("inference", settings, metrics_registry=metrics.registry)
request_events = broker.publisher(
    "inference.requests", title="inference.requests", schema=InferenceRequest, batch=True,
    description="One event per text answered, keyed by client id (published in batches).")

generation_events_topic = broker.publisher(
    "inference.generations", title="inference.generations", schema=InferenceGeneration, batch=True,
    description="One event per generation request answered by a generative model, keyed by client id.")

store = ArtifactStore(settings.s3)
executor = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="inference")
# Each serving process downloads into its own folder: processes replacing one shared copy under
# each other's feet made one of them fail to load a model.
model_cache = config.model_cache / f"process-{config.process_index}" if config.process_index >= 0 else config.model_cache
repository = ModelRepository(ModelRegistry(store), model_cache, config.device, executor, config, metrics)
events = RequestEventBuffer(KeyedBatchPublisher(request_events, settings.kafka, "inference.requests").publish,
                            maxsize=config.event_buffer)
generation_buffer = RequestEventBuffer(
    KeyedBatchPublisher(generation_events_topic, settings.kafka, "inference.generations").publish,
    maxsize=config.event_buffer, build=generation_events, size_of=lambda _: 1, topic="inference.generations")
watermark_keys = parse_keys(settings.watermark.keys.get_secret_value())
watermarking = Watermarking(watermark_keys, config.watermark_fraction, config.watermark_alerted_fraction,
                            frozenset(c.strip() for c in config.watermark_allow_clients.split(",") if c.strip()),
                            config.watermark_text_delta)
ledger = LedgerWriter(store, executor, config.watermark_ledger_flush_s,
                      process=str(config.process_index) if config.process_index >= 0 else "")
metrics.watch_events(events, ledger)
# A key's quota is split over every serving process of every replica.
access = AccessControl(KeyStore(store), EnforcementStore(store), executor, default_rps=config.default_rps,
                       default_tpm=config.default_tpm,
                       replicas=config.replicas * config.serving_processes(), policy=config.enforcement, throttle_rps=config.throttle_rps,
                       key_ttl_s=config.key_ttl_s)
servicer = InferenceServicer(repository, access, events, executor, config.max_batch, config.client_address_header,
                             watermarking, ledger, trace_requests=settings.otel.traces_exporter.strip() != "none")
server = InferenceServer(servicer, f"{config.host}:{config.port}")
generations = GenerationService(repository, access, generation_buffer, metrics, watermarking,
                                trace_requests=settings.otel.traces_exporter.strip() != "none")
servicer.generative = GenerativeOip(generations)
http_server = OpenAIServer(create_openai_app(generations, config.client_address_header), config.host, config.http_port or None,
                           reuse_port=config.process_index >= 0)


# Every replica must see every promotion, so this subscriber has no consumer group.
@broker.subscriber("model.promoted", group_id=None, auto_offset_reset="latest", title="model.promoted")
async def on_model_promoted(event: ModelPromoted) -> None:
    await repository.load(event.model_name, event.version)


# Every replica enforces every alert, so no consumer group here either; each reads the topic from its
# start, so alerts raised while every replica was down are still applied (replaying is harmless:
# what is applied is never softened, what an operator lifted stays lifted, resolves come in order).
@broker.subscriber("abuse.alerts", group_id=None, auto_offset_reset="earliest", title="abuse.alerts (enforcement)")
async def on_abuse_alert(alert: AbuseAlert) -> None:
    await access.on_alert(alert)


@broker.subscriber("inference.control", group_id=None, auto_offset_reset="latest", title="inference.control")
async def on_access_change(change: AccessChange) -> None:
    await access.on_change(change)


async def reconcile() -> None:
    """Re-read the registry and the enforcement records, in case an event was missed."""
    while True:
        await asyncio.sleep(config.reconcile_s)
        try:
            await repository.load_promoted()
            await access.refresh()
        except Exception:
            log.exception("reconcile with the store failed")


@app.on_startup
async def load_enforcement() -> None:
    # Before the broker starts: replayed alerts then meet what is already enforced.
    await access.refresh()


@app.after_startup
async def start_serving() -> None:
    events.start()
    generation_buffer.start()
    ledger.start()
    if watermarking.enabled and watermarking.key is not None:  # enabled implies a key; the test narrows it
        log.info("watermarking %.2f%% of answers (%.2f%% under an open alert) with key %s; allow-listed: %s",
                 100 * config.watermark_fraction, 100 * config.watermark_alerted_fraction,
                 watermarking.key.key_id, ", ".join(sorted(watermarking.allow_clients)) or "none")
    else:
        log.warning("classifier answers' watermark is off: %s", "INFERENCE_WATERMARK_FRACTION is 0" if watermark_keys
                    else "no WATERMARK_KEYS (`distillery watermark new-key` makes one)")
    if watermarking.key is not None and config.watermark_text_delta > 0:
        log.info("watermarking generations (green list, delta %.1f) with key %s, for every client but: %s",
                 config.watermark_text_delta, watermarking.key.key_id,
                 ", ".join(sorted(watermarking.allow_clients)) or "none")
    elif config.watermark_text_delta > 0:
        log.warning("generations' watermark is off: no WATERMARK_KEYS (`distillery watermark new-key` makes one)")
    if config.process_index >= 0:
        # One of several processes sharing the port: the kernel hands it connections as soon as it
        # listens, so it listens only once its models are loaded.
        loaded = await repository.load_promoted()
        await server.start()
        await http_server.start()
    else:
        # Alone: listen first, so that probes hear NOT_SERVING while the models load.
        await server.start()
        await http_server.start()
        loaded = await repository.load_promoted()
    log.info("gRPC (Open Inference Protocol) listening on %s:%d", config.host, server.port)
    if http_server.port:
        log.info("OpenAI-compatible HTTP API listening on %s:%d", config.host, http_server.port)
    await server.set_serving(True)
    generations.ready = True
    log.info("ready, serving %s", ", ".join(f"{n} v{v}" for n, v in loaded) or "no model yet")
    app_tasks.append(asyncio.create_task(reconcile(), name="registry-reconcile"))


app_tasks: list[asyncio.Task] = []


@app.on_shutdown
async def stop_serving() -> None:
    for task in app_tasks:
        task.cancel()
    generations.ready = False
    await http_server.stop()
    await server.stop()
    await events.stop()
    await generation_buffer.stop()
    await ledger.stop()
    log.info("stopped; inference.requests published %d, dropped %d; watermark ledger written %d, dropped %d",
             events.published, events.dropped, ledger.written, ledger.dropped)
