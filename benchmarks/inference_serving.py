"""The inference service under load, like perf_analyzer: a concurrency sweep of one-text requests
against the service as its own process (on an embedded stack started here, on free ports), with
throughput and p50/p99 latency, beside raw onnxruntime throughput on the same texts in the same run
(batches of the service's max batch size, no gRPC, no queue). For the teacher and for a fast
static student (trained here with the trainer's own code), and with dynamic batching on (max batch
size 64) and off (1).

    .venv/bin/python -m benchmarks.inference_serving         # about 5 minutes on 2 CPUs

The load generator shares the machine with the service, as perf_analyzer usually does; on two
cores its own gRPC work is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cli.stack import EmbeddedStack, StackConfig, free_port
from shared.keys import KeyStore
from shared.oip import OipClient
from shared.registry import ModelRegistry
from shared.store import ArtifactStore
from shared.textmodel import TextClassifier, cpu_limit, speed

ROOT = Path(__file__).resolve().parent.parent


def heldout_texts(n: int) -> list[str]:
    with gzip.open(ROOT / "data" / "wordnet" / "heldout.jsonl.gz", "rt") as f:
        return [json.loads(line)["text"] for line in f][:n]


def running_pid(stack: EmbeddedStack, name: str) -> int:
    pid = stack._running_pid(name)
    assert pid is not None, f"{name} is not running"
    return pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raw_throughput(model_dir: Path, texts: list[str], batch: int, seconds: float) -> float:
    return speed(TextClassifier(model_dir, device="cpu"), texts, batch, seconds)[0]


async def sweep_point(url: str, key: str, model: str, texts: list[str], concurrency: int, seconds: float,
                      channels: int = 1) -> dict:
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def client_loop(client: OipClient, offset: int) -> None:
        i = offset
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            await client.infer(model, [texts[i % len(texts)]], outputs=["PROBABILITIES"])
            latencies.append(time.perf_counter() - t)
            i += concurrency

    # Each channel is one TCP connection; the kernel spreads connections (not requests) over
    # server processes sharing the port.
    clients = [OipClient(url, key) for _ in range(max(1, min(channels, concurrency)))]
    try:
        for client in clients:
            await client.infer(model, texts[:1])
        started = time.perf_counter()
        await asyncio.gather(*(client_loop(clients[c % len(clients)], c) for c in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    ms = sorted(x * 1000 for x in latencies)
    return {"concurrency": concurrency, "requests": len(ms), "texts_per_s": len(ms) / elapsed, "p50_ms": statistics.median(ms),
            "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))]}


def fast_student(teacher_dir: Path, work: Path) -> Path:
    """A static student, trained briefly on 3,000 glosses the teacher labels (the trainer's code)."""
    import torch

    from services.trainer.students import teacher_token_vectors
    from services.trainer.training import Split, build_student
    from shared.events import StudentSpec

    torch.set_num_threads(cpu_limit())
    teacher = TextClassifier(teacher_dir, device="cpu")
    texts = heldout_texts(3500)
    probabilities = teacher.predict_batched(texts)
    split = lambda a, b: Split(texts[a:b], probabilities[a:b])  # noqa: E731
    build_student(StudentSpec(name="student", epochs=3, learning_rate=0.005), teacher.classes,
                  teacher_token_vectors(ROOT / ".cache" / "trainer"), teacher_dir, teacher_dir / "tokenizer.json",
                  split(0, 3000), split(3000, 3250), split(3250, 3500), work / "student", {"job_id": "benchmark"})
    return work / "student"


async def main() -> None:
    from services.trainer.teacher_model import ensure_teacher_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="per sweep point")
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 8, 32, 64])
    parser.add_argument("--models", nargs="*", default=["teacher", "student"])
    parser.add_argument("--replicas", type=int, default=1,
                        help="inference processes sharing the port (SO_REUSEPORT), as replicas behind a Service")
    parser.add_argument("--channels", type=int, default=1, help="gRPC connections the load generator opens")
    parser.add_argument("--max-batch-sizes", type=int, nargs="*", default=[64, 1],
                        help="dynamic batching on (64) and off (1)")
    args = parser.parse_args()
    texts = heldout_texts(2000)[-1000:]
    teacher_dir = ensure_teacher_model(ROOT / ".cache")
    with tempfile.TemporaryDirectory() as home:
        student_dir = fast_student(teacher_dir, Path(home))
        stack = EmbeddedStack(StackConfig.on_free_ports(Path(home) / "stack"))
        stack.start_infra()
        os.environ.update(stack.env())
        try:
            store = ArtifactStore(stack.config.s3())
            registry = ModelRegistry(store)
            for name, folder in (("teacher", teacher_dir), ("student", student_dir)):
                version, _ = registry.register(name, folder)
                registry.promote(name, version)
            key = KeyStore(store).create("benchmark", scopes=("probabilities",))
            url = f"127.0.0.1:{stack.config.inference_port}"
            rows = []
            for batching in args.max_batch_sizes:
                replicas = ["inference"] + [f"inference-{i + 1}" for i in range(1, args.replicas)]
                for name in replicas:
                    stack._spawn(name, [sys.executable, "-m", "services.inference"],
                                 {**stack.env(), "INFERENCE_MAX_BATCH_SIZE": str(batching),
                                  "DISTILLERY_METRICS_PORT": str(free_port()),
                                  "INFERENCE_MODEL_CACHE": str(Path(home) / f"models-{batching}-{name}")})
                stack.wait_services(timeout_s=120, names=tuple(replicas))
                for model, folder in (("teacher", teacher_dir), ("student", student_dir)):
                    if model not in args.models:
                        continue
                    raw = raw_throughput(folder, texts, 64, args.seconds)
                    for concurrency in args.concurrency if batching > 1 else [max(args.concurrency)]:
                        pids = [running_pid(stack, name) for name in replicas]
                        cpu_before = [cpu_seconds(pid) for pid in pids]
                        point = await sweep_point(url, key, model, texts, concurrency, args.seconds, args.channels)
                        # The service's own CPU per request: steadier on a shared machine than throughput.
                        used = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before)]
                        point["server_cpu_us"] = sum(used) / point["requests"] * 1e6
                        if len(used) > 1:
                            print(f"  CPU seconds per replica: {', '.join(f'{u:.1f}' for u in used)}")
                        rows.append({"model": model, "max_batch_size": batching, "raw_texts_per_s": raw, **point})
                        print(f"{model:8s} batching {batching:3d} concurrency {concurrency:3d}: "
                              f"{point['texts_per_s']:8.0f} texts/s ({point['texts_per_s'] / raw:.2f} of raw "
                              f"onnxruntime {raw:.0f}), p50 {point['p50_ms']:.2f} ms, p99 {point['p99_ms']:.2f} ms, "
                              f"server CPU {point['server_cpu_us']:.0f} us a request",
                              flush=True)
                for name in replicas:
                    stack.stop(name)
        finally:
            stack.down()
    print(f"\n{cpu_limit()} CPUs, one-text requests, {args.seconds:.0f} s a point; raw = onnxruntime at batch 64 in this process\n")
    print("| model | max batch size | concurrency | texts/s | of raw onnxruntime | p50 | p99 | server CPU a request |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['max_batch_size']} | {r['concurrency']} | {r['texts_per_s']:.0f} | "
              f"{r['texts_per_s'] / r['raw_texts_per_s']:.2f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
              f"{r['server_cpu_us']:.0f} us |")
    top = max(args.concurrency)
    for model in args.models:
        on = next((r for r in rows if r["model"] == model and r["max_batch_size"] > 1 and r["concurrency"] == top), None)
        off = next((r for r in rows if r["model"] == model and r["max_batch_size"] == 1), None)
        if on and off:
            print(f"{model}: dynamic batching gives {on['texts_per_s'] / off['texts_per_s']:.2f}x the throughput of "
                  f"batch size 1 at concurrency {top}")


if __name__ == "__main__":
    asyncio.run(main())
