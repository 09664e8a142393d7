"""Endpoints and credentials, read from the environment (pydantic-settings).

The same variables point a service at the embedded stack or at Apache Kafka (Strimzi) and MinIO
or any S3 store: nothing else changes between a laptop and a cluster.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_")

    bootstrap_servers: str = "127.0.0.1:9092"
    # PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL; Strimzi's TLS and SCRAM listeners need the last two.
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    sasl_username: str = ""
    sasl_password: SecretStr = SecretStr("")
    ssl_cafile: str = ""
    # Partitions given to topics this platform creates; replicas = 1 suits one broker only.
    default_partitions: int = 3
    replication_factor: int = 1


class S3Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="S3_")

    endpoint: str = "127.0.0.1:8333"
    access_key: str = "distillery"
    secret_key: SecretStr = SecretStr("distillery-secret")
    secure: bool = False
    region: str = "us-east-1"
    bucket: str = "distillery"


class ServiceSettings(BaseSettings):
    """What every service shares: where the broker and the store are."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    s3: S3Settings = Field(default_factory=S3Settings)
    log_level: str = "INFO"
    health_port: int = 0  # gRPC health service for Kubernetes probes; 0: off
