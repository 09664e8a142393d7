"""Throughput as a client gets it: concurrent callers sending texts to a served model over gRPC (Open
Inference Protocol), beside the same model called directly (onnxruntime in this process, the same
texts per call). The serving benchmark (benchmarks/inference_serving.py) and the demo use it."""

from __future__ import annotations

import asyncio
import gzip
import json
import statistics
import time
from pathlib import Path

from shared.oip import OipClient
from shared.textmodel import TextClassifier, speed

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "wordnet" / "heldout.jsonl.gz"


def heldout_texts(n: int) -> list[str]:
    with gzip.open(HELDOUT, "rt") as f:
        return [json.loads(line)["text"] for line in f][:n]


def direct_throughput(model_dir: Path, texts: list[str], per_call: int, seconds: float) -> float:
    """Texts per second of the model alone: onnxruntime on CPU, `per_call` texts a call."""
    return speed(TextClassifier(model_dir, device="cpu"), texts, per_call, seconds)[0]


async def served_point(url: str, key: str, model: str, texts: list[str], per_request: int, concurrency: int,
                       seconds: float, channels: int = 1) -> dict:
    """`concurrency` callers, each sending `per_request` texts a request as fast as answers come,
    for `seconds`: texts per second, and p50/p99 latency in ms."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def caller(client: OipClient, offset: int) -> None:
        i = offset * per_request
        while time.perf_counter() < stop_at:
            batch = [texts[(i + k) % len(texts)] for k in range(per_request)]
            t = time.perf_counter()
            await client.infer(model, batch)
            latencies.append(time.perf_counter() - t)
            i += concurrency * per_request

    # Each channel is one TCP connection; the kernel spreads connections (not requests) over the
    # serving processes sharing the port.
    clients = [OipClient(url, key) for _ in range(max(1, min(channels, concurrency)))]
    try:
        for client in clients:
            await client.infer(model, texts[:1])
        started = time.perf_counter()
        await asyncio.gather(*(caller(clients[c % len(clients)], c) for c in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "texts_per_s": len(ms) * per_request / elapsed, "p50_ms": statistics.median(ms),
            "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))]}
