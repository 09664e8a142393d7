"""OpenTelemetry for every service: one tracer provider, trace context carried in Kafka headers
(FastStream's middleware) and in gRPC metadata (the helpers below).

The exporter is chosen by the standard variables (`shared.settings.OtelSettings`):
OTEL_TRACES_EXPORTER=otlp|console|none (default none), OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from shared.settings import OtelSettings

log = logging.getLogger(__name__)
_provider: TracerProvider | None = None


def setup_telemetry(service: str, settings: OtelSettings | None = None) -> TracerProvider:
    global _provider
    if _provider is not None:
        return _provider
    settings = settings or OtelSettings()
    name = settings.service_name or f"distillery-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    exporters = {e.strip() for e in settings.traces_exporter.split(",")}
    if "console" in exporters:
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    if "otlp" in exporters:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.error("OTEL_TRACES_EXPORTER=otlp needs opentelemetry-exporter-otlp-proto-grpc installed")
        else:
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def tracer_provider() -> TracerProvider:
    return _provider or setup_telemetry("cli")


def tracer(name: str) -> trace.Tracer:
    return tracer_provider().get_tracer(name)


def grpc_trace_metadata() -> list[tuple[str, str]]:
    """The current trace context as gRPC metadata, for an outgoing call."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items())


def context_from_grpc_metadata(metadata: Sequence[tuple[str, str | bytes]] | Mapping | None) -> Context:
    """The caller's trace context from incoming gRPC metadata."""
    items = metadata.items() if isinstance(metadata, Mapping) else (metadata or ())
    carrier = {k: v for k, v in items if isinstance(v, str)}
    return propagate.extract(carrier)
