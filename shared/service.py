"""What every service's app starts from: logging, tracing, its Kafka broker and FastStream app, and
(for the Kafka-only services) the gRPC health service for probes."""

from __future__ import annotations

import logging

from faststream import FastStream
from faststream.kafka import KafkaBroker

from shared.health import serve_health
from shared.kafka import make_broker
from shared.logs import setup_logging
from shared.settings import ServiceSettings
from shared.telemetry import setup_telemetry


def create_service(name: str, settings: ServiceSettings, health: bool = True) -> tuple[KafkaBroker, FastStream, logging.Logger]:
    setup_logging(settings.log_level)
    setup_telemetry(name)
    log = logging.getLogger(f"services.{name}")
    broker = make_broker(settings.kafka, name)
    app = FastStream(broker, logger=log)
    if health:
        serve_health(app, settings.health_port)
    return broker, app, log
