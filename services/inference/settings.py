"""The inference service's settings: the shared groups, INFERENCE_* and WATERMARK_*."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from services.inference.access import DEFAULT_POLICY, Action
from shared.settings import Settings, group
from shared.textmodel import cpu_limit
from shared.watermark import WatermarkKeySettings


class InferenceSettings(BaseSettings):
    model_config = group("INFERENCE_")

    host: str = "0.0.0.0"
    """Address the gRPC server listens on."""
    port: int = 8001
    """gRPC port (Open Inference Protocol and gRPC health; Triton's port)."""
    device: str = "auto"
    """auto: CUDA when a GPU is present, else CPU; cpu; cuda."""
    model_cache: Path = Path(tempfile.gettempdir()) / "distillery-models"
    """Where served model versions are downloaded (a writable path; by default under TMPDIR, which the local
    stack gives each of its processes); a version no longer loaded (each name keeps the served one and the one
    before it) is deleted once it has answered its queue."""
    max_batch: int = 256
    """Texts one request may carry."""
    max_batch_size: int = 64
    """Dynamic batching: texts run together (Triton's max_batch_size)."""
    max_queue_delay_ms: float = 0.0
    """How long the first request of a batch waits for company; 0 (Triton's default): only what has queued
    while the previous batch ran goes with it."""
    max_sequences: int = 16
    """Generative models: sequences decoded together (continuous batching), per process."""
    max_prefill_tokens: int = 512
    """Generative models: prompt tokens run between two decoding steps (at least one prompt): more starts new
    sequences sooner and stalls the ones decoding longer."""
    prefix_cache_mb: int = 128
    """Generative models: the KV cache kept of prompts already run, per model and process, so a prompt that
    begins as an earlier one did (a chat template's system prompt, an app's instructions) runs only its new
    tokens (least recently used out first); 0: off. Answers report the tokens spared as
    `usage.prompt_tokens_details.cached_tokens`."""
    max_waiting_sequences: int = 64
    """Generative models: sequences waiting for a place in the batch; beyond, 429 / RESOURCE_EXHAUSTED."""
    http_port: int = 8000
    """OpenAI-compatible HTTP API for generative models (vLLM's port); 0: off."""
    default_tpm: int = 0
    """Generative models: a key's quota in tokens (prompt and completion) per minute when it has no `tpm` of its
    own (0: none); split over replicas and processes like `default_rps`."""
    max_queue_texts: int = 4096
    """Texts waiting per model version; beyond, RESOURCE_EXHAUSTED."""
    event_buffer: int = 10_000
    """inference.requests events held while the broker is slow."""
    reconcile_s: float = 30.0
    """How often the registry is re-read, in case a promotion event was missed."""
    workers: int = 4
    """Threads for model runs and store calls."""
    processes: int = 1
    """Serving processes sharing the gRPC port (SO_REUSEPORT: the kernel spreads connections over them), each
    with its own event loop; 0: one per CPU this container may use. The Deployment sets it from its CPU request."""
    model_threads: int = 0
    """onnxruntime intra-op threads per process; 0: the CPUs this container may use / processes."""
    process_index: int = -1
    """Set by the supervisor on each serving process it starts (-1: not started by one)."""
    default_rps: float = 0.0
    """A key's quota when it has no `rps` of its own (0: none); split over `replicas`."""
    replicas: int = 1
    """Replicas of this Deployment: each enforces 1/replicas of a key's quota."""
    enforcement: dict[str, Action] = Field(default_factory=lambda: dict(DEFAULT_POLICY))
    """What an abuse alert of each severity does to its clients: none, throttle or block (JSON)."""
    throttle_rps: float = 1.0
    """The rate a throttled client is held to."""
    key_ttl_s: float = 10.0
    """A key seen valid is trusted this long; revocations arrive at once through inference.control."""
    client_address_header: str = ""
    """Behind a proxy or ingress, the header carrying the caller's address (x-forwarded-for); the detector
    links accounts by network. Empty: the gRPC peer's address."""
    watermark_fraction: float = 0.005
    """Fraction of inputs whose answer is watermarked, for clients off the allow-list."""
    watermark_alerted_fraction: float = 0.05
    """The same, for a client under an open abuse alert."""
    watermark_allow_clients: str = ""
    """Comma-separated client ids answered truthfully (our own services)."""
    watermark_text_delta: float = 0.7
    """Generations for clients off the allow-list: logit bias on the key's green list (0: off;
    shared.text_watermark). Greedy answers are marked too. 0.7 costs 0.8% of ROUGE-L on the
    definition task (1.0: 3.2%) and still names a distilled thief (docs/BENCHMARKS.md)."""
    watermark_ledger_flush_s: float = 5.0
    """How often the watermark ledger is written to S3."""


    def serving_processes(self) -> int:
        return self.processes if self.processes > 0 else cpu_limit()

    def threads_per_process(self) -> int:
        return self.model_threads or max(1, cpu_limit() // self.serving_processes())


class InferenceServiceSettings(Settings):
    inference: InferenceSettings = Field(default_factory=InferenceSettings)
    watermark: WatermarkKeySettings = Field(default_factory=WatermarkKeySettings)
