"""What every service's app starts from: logging, tracing, its Kafka broker and FastStream app, the
gRPC health service for probes (DISTILLERY_HEALTH_PORT) and Prometheus metrics
(DISTILLERY_METRICS_PORT)."""

from __future__ import annotations

import logging

from faststream import FastStream
from faststream.kafka import KafkaBroker
from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

from shared.health import serve_health
from shared.kafka import make_broker
from shared.logs import setup_logging
from shared.settings import Settings
from shared.telemetry import setup_telemetry


def create_service(name: str, settings: Settings, metrics_registry: CollectorRegistry = REGISTRY,
                   ) -> tuple[KafkaBroker, FastStream, logging.Logger]:
    setup_logging(settings.service.log_level, name)
    setup_telemetry(name, settings.otel)
    log = logging.getLogger(f"services.{name}")
    broker = make_broker(settings.kafka, name)
    app = FastStream(broker, logger=log)
    serve_health(app, settings.service.health_port)
    port = settings.service.metrics_port
    if port:
        @app.on_startup
        async def serve_metrics() -> None:
            # Before the broker connects: a scrape answers (and says what is consumed) from the start.
            start_http_server(port, registry=metrics_registry)
            log.info("Prometheus metrics on :%d/metrics", port)
    return broker, app, log
