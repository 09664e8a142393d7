"""inference: serves the registry's promoted models over gRPC (Open Inference Protocol), loads
each newly promoted version without a restart, publishes every answered request, enforces quotas
and the abuse-alert policy, watermarks answers (recorded in a ledger in S3), and exports Prometheus
metrics."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.inference.access import DEFAULT_POLICY, AccessControl, Action
from services.inference.metrics import InferenceMetrics
from services.inference.server import (
    BatchingConfig,
    InferenceServer,
    InferenceServicer,
    ModelRepository,
    RequestEventBuffer,
)
from services.inference.watermarking import LedgerWriter, Watermarking
from shared.events import AbuseAlert, AccessChange, InferenceRequest, ModelPromoted
from shared.kafka import KeyedBatchPublisher
from shared.keys import EnforcementStore, KeyStore
from shared.registry import ModelRegistry
from shared.service import create_service
from shared.settings import ServiceSettings
from shared.store import ArtifactStore
from shared.watermark import WatermarkKeySettings, parse_keys


class InferenceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INFERENCE_")

    host: str = "0.0.0.0"
    port: int = 8001  # Triton's gRPC port
    device: str = "auto"  # auto: CUDA when a GPU is present; cpu; cuda
    model_cache: Path = Path("/tmp/distillery-models")
    max_batch: int = 256  # texts per request
    # Dynamic batching per model version (Triton's max_batch_size, max_queue_delay, a bounded queue).
    max_batch_size: int = 64
    max_queue_delay_ms: float = 0.0
    max_queue_texts: int = 4096
    event_buffer: int = 10_000  # inference.requests events held while the broker is slow
    reconcile_s: float = 30.0  # how often the registry is re-read, in case a promotion event was missed
    workers: int = 4
    metrics_port: int = 8002  # Triton's metrics port; 0: no metrics endpoint
    # Quotas: a key's own `rps`, else this (0: none); split over this many replicas.
    default_rps: float = 0.0
    replicas: int = 1
    # What an abuse alert of each severity does to its clients: none, throttle or block.
    enforcement: dict[str, Action] = Field(default_factory=lambda: dict(DEFAULT_POLICY))
    throttle_rps: float = 1.0
    # A key seen valid is trusted this long; revocations arrive at once through inference.control.
    key_ttl_s: float = 10.0
    # Behind a proxy or ingress, the header carrying the caller's address (x-forwarded-for); the
    # detector links accounts by network. Empty: the gRPC peer's address.
    client_address_header: str = ""
    # Watermarking (the keys: WATERMARK_KEYS, from a Secret): the fraction of inputs whose answer is
    # changed for clients off the allow-list, and for a client under an open abuse alert.
    watermark_fraction: float = 0.005
    watermark_alerted_fraction: float = 0.05
    watermark_allow_clients: str = ""  # comma-separated client ids answered truthfully (our own services)
    watermark_ledger_flush_s: float = 5.0


settings = InferenceSettings()
broker, app, log = create_service("inference", settings, health=False)
request_events = broker.publisher(
    "inference.requests", title="inference.requests", schema=InferenceRequest, batch=True,
    description="One event per text answered, keyed by client id (published in batches).")

store = ArtifactStore(settings.s3)
executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="inference")
metrics = InferenceMetrics()
repository = ModelRepository(ModelRegistry(store), settings.model_cache, settings.device, executor,
                             BatchingConfig(settings.max_batch_size, settings.max_queue_delay_ms, settings.max_queue_texts),
                             metrics)
events = RequestEventBuffer(KeyedBatchPublisher(request_events, settings.kafka, "inference.requests").publish,
                            maxsize=settings.event_buffer)
watermark_keys = parse_keys(WatermarkKeySettings().keys.get_secret_value())
watermarking = Watermarking(watermark_keys, settings.watermark_fraction, settings.watermark_alerted_fraction,
                            frozenset(c.strip() for c in settings.watermark_allow_clients.split(",") if c.strip()))
ledger = LedgerWriter(store, executor, settings.watermark_ledger_flush_s)
metrics.watch_events(events, ledger)
access = AccessControl(KeyStore(store), EnforcementStore(store), executor, default_rps=settings.default_rps,
                       replicas=settings.replicas, policy=settings.enforcement, throttle_rps=settings.throttle_rps,
                       key_ttl_s=settings.key_ttl_s)
servicer = InferenceServicer(repository, access, events, executor, settings.max_batch, settings.client_address_header,
                             watermarking, ledger)
server = InferenceServer(servicer, f"{settings.host}:{settings.port}")


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
        await asyncio.sleep(settings.reconcile_s)
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
    ledger.start()
    if watermarking.enabled:
        log.info("watermarking %.2f%% of answers (%.2f%% under an open alert) with key %s; allow-listed: %s",
                 100 * settings.watermark_fraction, 100 * settings.watermark_alerted_fraction,
                 watermarking.key.key_id, ", ".join(sorted(watermarking.allow_clients)) or "none")
    else:
        log.warning("watermarking is off: %s", "INFERENCE_WATERMARK_FRACTION is 0" if watermark_keys
                    else "no WATERMARK_KEYS (`distillery watermark new-key` makes one)")
    if settings.metrics_port:
        metrics.serve(settings.metrics_port)
        log.info("Prometheus metrics on :%d/metrics", settings.metrics_port)
    await server.start()
    log.info("gRPC (Open Inference Protocol) listening on %s:%d", settings.host, server.port)
    loaded = await repository.load_promoted()
    await server.set_serving(True)
    log.info("ready, serving %s", ", ".join(f"{n} v{v}" for n, v in loaded) or "no model yet")
    app_tasks.append(asyncio.create_task(reconcile(), name="registry-reconcile"))


app_tasks: list[asyncio.Task] = []


@app.on_shutdown
async def stop_serving() -> None:
    for task in app_tasks:
        task.cancel()
    await server.stop()
    await events.stop()
    await ledger.stop()
    log.info("stopped; inference.requests published %d, dropped %d; watermark ledger written %d, dropped %d",
             events.published, events.dropped, ledger.written, ledger.dropped)
