"""detector: watches `inference.requests` and publishes `abuse.alerts` when a client looks like it
is extracting the served model. Requests are keyed by client, so one replica sees all of a client's
traffic and replicas share the load by partition."""

from __future__ import annotations

import asyncio

from pydantic_settings import SettingsConfigDict

from shared.events import AbuseAlert, InferenceRequest, utcnow
from shared.service import create_service
from shared.settings import ServiceSettings
from services.detector.detection import DetectorConfig, ExtractionDetector


class DetectorSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DETECTOR_")

    # Clients whose traffic is authorised distillation (comma-separated key names), never alerted on.
    allow_clients: str = ""
    min_queries: int = 150
    coverage_threshold: float = 0.7
    min_classes: int = 15
    window_s: float = 3600.0
    resolve_after_s: float = 900.0  # an alerted client quiet this long gets its alert resolved
    sweep_s: float = 30.0  # how often quiet clients are looked for


settings = DetectorSettings()
broker, app, log = create_service("detector", settings)
alerts = broker.publisher("abuse.alerts", title="abuse.alerts", schema=AbuseAlert,
                          description="Alerts on clients extracting a served model: open, update, resolve.")
detector = ExtractionDetector(DetectorConfig(
    min_queries=settings.min_queries, coverage_threshold=settings.coverage_threshold,
    min_classes=settings.min_classes, window_s=settings.window_s, resolve_after_s=settings.resolve_after_s,
    allow_clients=frozenset(c.strip() for c in settings.allow_clients.split(",") if c.strip())))


@broker.subscriber("inference.requests", group_id="detector", auto_offset_reset="earliest",
                   title="inference.requests")
async def on_request(event: InferenceRequest) -> None:
    alert = detector.observe(event)
    if alert is not None:
        await alerts.publish(alert, key=alert.alert_id.encode())
        log.warning("alert %s (%s) on %s: score %.2f", alert.alert_id, alert.status, ", ".join(alert.client_ids),
                    alert.score)


async def resolve_quiet_clients() -> None:
    while True:
        await asyncio.sleep(settings.sweep_s)
        for alert in detector.sweep(utcnow()):
            await alerts.publish(alert, key=alert.alert_id.encode())
            log.info("alert %s resolved: %s quiet since %s", alert.alert_id, ", ".join(alert.client_ids),
                     alert.window_end.isoformat())


sweeper: list[asyncio.Task] = []


@app.after_startup
async def start_sweeping() -> None:
    sweeper.append(asyncio.create_task(resolve_quiet_clients(), name="resolve-quiet-clients"))


@app.on_shutdown
async def stop_sweeping() -> None:
    for task in sweeper:
        task.cancel()
