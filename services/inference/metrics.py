"""Prometheus metrics in Triton's style: the names Triton's dashboards know (`nv_inference_*`, with
Prometheus's `_total` on counters), labelled by model and version, plus what Triton has no name for
(batch sizes, request events dropped, requests refused by quota or enforcement).

Served over HTTP at /metrics on Triton's metrics port (8002)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily

from services.inference.batching import Pending

LABELS = ("model", "version")
# Generative models are measured in vLLM's names (`vllm:*`), which its dashboards and autoscalers read.
GEN_LABELS = ("model_name",)
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)
TOKEN_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class InferenceMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.success = Counter("nv_inference_request_success", "Inference requests answered", LABELS, registry=r)
        self.failure = Counter("nv_inference_request_failure", "Inference requests failed, by gRPC status",
                               (*LABELS, "reason"), registry=r)
        self.inferences = Counter("nv_inference_count", "Texts answered (a request may carry several)",
                                  LABELS, registry=r)
        self.executions = Counter("nv_inference_exec_count", "Batches run by the model", LABELS, registry=r)
        self.request_us = Counter("nv_inference_request_duration_us",
                                  "Cumulative time from a request's arrival to its reply", LABELS, registry=r)
        self.queue_us = Counter("nv_inference_queue_duration_us",
                                "Cumulative time requests waited in the dynamic batcher's queue", LABELS, registry=r)
        self.compute_us = Counter("nv_inference_compute_infer_duration_us",
                                  "Cumulative time batches spent in onnxruntime (tokenising included)",
                                  LABELS, registry=r)
        self.pending = Gauge("nv_inference_pending_request_count", "Texts waiting in the batcher's queue",
                             LABELS, registry=r)
        self.batch_size = Histogram("distillery_inference_batch_size", "Texts per batch run", LABELS,
                                    buckets=BATCH_BUCKETS, registry=r)
        # By reason only: a label per client would be a series per account (rings run to tens of
        # thousands); who was refused goes to the events and the detector.
        self.refused = Counter("distillery_inference_refused", "Requests refused before the model: quota, "
                               "enforcement or authentication", ("reason",), registry=r)
        self.watermarked = Counter("distillery_inference_watermarked", "Texts answered with the watermark class",
                                   LABELS, registry=r)

        self.ttft = Histogram("vllm:time_to_first_token_seconds", "Time to the first generated token", GEN_LABELS,
                              buckets=LATENCY_BUCKETS, registry=r)
        self.tpot = Histogram("vllm:time_per_output_token_seconds", "Mean time per generated token after the first, "
                              "per request", GEN_LABELS, buckets=TOKEN_LATENCY_BUCKETS, registry=r)
        self.e2e = Histogram("vllm:e2e_request_latency_seconds", "Time from a generation request's arrival to its "
                             "last token", GEN_LABELS, buckets=LATENCY_BUCKETS, registry=r)
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Prompt tokens of generation requests", GEN_LABELS, registry=r)
        self.generation_tokens = Counter("vllm:generation_tokens", "Tokens generated", GEN_LABELS, registry=r)
        self.prefix_cache_queries = Counter("vllm:prefix_cache_queries", "Prompt tokens looked up in the prefix cache",
                                            GEN_LABELS, registry=r)
        self.prefix_cache_hits = Counter("vllm:prefix_cache_hits", "Prompt tokens found in the prefix cache (not run)",
                                         GEN_LABELS, registry=r)
        self.generation_success = Counter("vllm:request_success", "Generation requests finished, by why",
                                          (*GEN_LABELS, "finished_reason"), registry=r)
        self.running = Gauge("vllm:num_requests_running", "Sequences in the decoding batch", GEN_LABELS, registry=r)
        self.waiting = Gauge("vllm:num_requests_waiting", "Sequences waiting for a place in the batch", GEN_LABELS,
                             registry=r)
        self.decode_batch = Histogram("distillery_generation_batch_size", "Sequences per decoding step", GEN_LABELS,
                                      buckets=BATCH_BUCKETS, registry=r)

    def watch_engine(self, model: str, version: str, engine) -> None:
        self.running.labels(model).set_function(lambda: engine.stats.running)
        self.waiting.labels(model).set_function(lambda: engine.stats.waiting)

    def engine_observer(self, model: str, version: str):
        batch = self.decode_batch.labels(model)

        def on_step(rows: int, seconds: float) -> None:
            batch.observe(rows)

        return on_step

    def watch_events(self, buffer, ledger=None) -> None:
        """Export the request-event buffer's and the watermark ledger's counts (read at scrape time)."""
        self.registry.register(_EventCounts(buffer, ledger))

    def batcher_observer(self, model: str, version: str):
        """The callback a version's DynamicBatcher calls after each batch."""
        labels = (model, version)

        def on_batch(requests: list[Pending], texts: int, started: float, finished: float) -> None:
            self.executions.labels(*labels).inc()
            self.inferences.labels(*labels).inc(texts)
            self.batch_size.labels(*labels).observe(texts)
            self.compute_us.labels(*labels).inc((finished - started) * 1e6)
            self.queue_us.labels(*labels).inc(sum(started - p.enqueued for p in requests) * 1e6)

        return on_batch

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


class _EventCounts:
    """Counts kept by the request-event buffer and the watermark ledger, read at scrape time."""

    def __init__(self, buffer, ledger=None) -> None:
        self.buffer = buffer
        self.ledger = ledger

    def collect(self):
        yield _counter("distillery_inference_request_events_published",
                       "inference.requests events handed to the broker", self.buffer.published)
        yield _counter("distillery_inference_request_events_dropped",
                       "inference.requests events dropped: buffer full or broker slow/absent", self.buffer.dropped)
        if self.ledger is not None:
            yield _counter("distillery_inference_watermark_ledger_written",
                           "Watermarked answers written to the ledger in S3", self.ledger.written)
            yield _counter("distillery_inference_watermark_ledger_dropped",
                           "Watermarked answers not recorded: the store did not take them in time", self.ledger.dropped)
