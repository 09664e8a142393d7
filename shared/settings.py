"""Settings, read from the environment (pydantic-settings), in one shape for every service.

A service's settings are a `Settings`: the shared parts, each a group with its own prefix
(`kafka`: KAFKA_*, `s3`: S3_*, `service`: DISTILLERY_*, `otel`: OTEL_*), plus the service's own
group (TEACHER_*, INFERENCE_*, ...). A group is flat and nothing re-declares another's prefix, so
one variable means one thing in every service. The same variables point a service at the embedded
stack or at Apache Kafka (Strimzi) and MinIO: nothing else changes between a laptop and a cluster.

`environment_variables` lists every variable a settings class reads: the README's configuration
table is generated from it and the Kubernetes manifests are checked against it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def group(prefix: str) -> SettingsConfigDict:
    """A settings group: its variables are PREFIX + the field's name; comments become docs."""
    return SettingsConfigDict(env_prefix=prefix, use_attribute_docstrings=True, extra="ignore")


class KafkaSettings(BaseSettings):
    model_config = group("KAFKA_")

    bootstrap_servers: str = "127.0.0.1:9092"
    """Broker addresses, comma-separated."""
    security_protocol: str = "PLAINTEXT"
    """PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (Strimzi's TLS and SCRAM listeners need the last two)."""
    sasl_mechanism: str = "SCRAM-SHA-512"
    """PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."""
    sasl_username: str = ""
    """SASL user (a Strimzi KafkaUser)."""
    sasl_password: SecretStr = SecretStr("")
    """SASL password (from a Secret)."""
    ssl_cafile: str = ""
    """CA bundle for the broker's TLS certificate."""
    default_partitions: int = 3
    """Partitions given to topics this platform creates when the contract names none."""
    replication_factor: int = 1
    """Replicas of topics this platform creates (1 suits one broker only)."""


class S3Settings(BaseSettings):
    model_config = group("S3_")

    endpoint: str = "127.0.0.1:8333"
    """host:port of the S3 store (MinIO, SeaweedFS, any S3)."""
    access_key: str = "distillery"
    """S3 access key (from a Secret)."""
    secret_key: SecretStr = SecretStr("distillery-secret")
    """S3 secret key (from a Secret)."""
    secure: bool = False
    """HTTPS to the store."""
    region: str = "us-east-1"
    """The store's region."""
    bucket: str = "distillery"
    """The bucket that holds datasets, models, caches and state."""


class ServiceSettings(BaseSettings):
    model_config = group("DISTILLERY_")

    log_level: str = "INFO"
    """DEBUG, INFO, WARNING or ERROR."""
    health_port: int = 0
    """Port of the standard gRPC health service (Kubernetes gRPC probes); 0: none."""
    metrics_port: int = 0
    """Port of the Prometheus /metrics endpoint; 0: none."""


class OtelSettings(BaseSettings):
    """OpenTelemetry's own variables (the SDK's exporters read the rest, such as OTEL_EXPORTER_OTLP_ENDPOINT)."""

    model_config = group("OTEL_")

    traces_exporter: str = "none"
    """otlp, console or none (comma-separated for several)."""
    service_name: str = ""
    """The service name on spans; empty: distillery-<service>."""
    exporter_otlp_endpoint: str = ""
    """Where the otlp exporter sends spans (read by the exporter itself), e.g. http://otel-collector:4317."""


class Settings(BaseModel):
    """What every service is configured with; a service's settings add its own group."""

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    otel: OtelSettings = Field(default_factory=OtelSettings)


# Variables read by the libraries the services use, not by our settings; manifests may set them.
LIBRARY_VARIABLES = {
    "HF_HUB_OFFLINE": "1: Hugging Face libraries never reach for a hub (models are baked or in S3)",
    "TRANSFORMERS_OFFLINE": "1: the same, for transformers",
    "MPLCONFIGDIR": "matplotlib's cache folder (a writable path where the root filesystem is read-only)",
    "PYTHONUNBUFFERED": "1: logs leave the process at once",
}


@dataclass(frozen=True)
class Variable:
    name: str
    group: str
    default: str
    description: str
    secret: bool


def environment_variables(settings: type[BaseModel]) -> list[Variable]:
    """Every environment variable a settings class reads, group by group (or of one group)."""
    if issubclass(settings, BaseSettings):
        groups = {"": settings}
    else:
        groups = {name: field.annotation for name, field in settings.model_fields.items()
                  if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings)}
    found = []
    for group_name, kind in groups.items():
        prefix = kind.model_config.get("env_prefix", "")
        for name, item in kind.model_fields.items():
            default = item.get_default(call_default_factory=True)
            secret = isinstance(default, SecretStr)
            shown = "" if secret else default
            if isinstance(shown, dict):
                shown = json.dumps(shown)
            found.append(Variable(f"{prefix}{name}".upper(), group_name, str(shown),
                                  " ".join((item.description or "").split()), secret))
    return found
