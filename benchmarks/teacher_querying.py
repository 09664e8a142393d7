"""How close the teacher service runs to a teacher's rate limits, and what it costs per query.

1. Pacing: the querier (in process) against a local OpenAI-compatible teacher with injected
   latency, under a requests-per-minute limit and then a tokens-per-minute limit. Prints the
   achieved rate as a fraction of the limit over the run (goal: 0.95 or more) and the most seen in
   any one-second window against what the limit allows there (never over).
2. The service: the teacher service as a process on an embedded broker and S3 server, a job of
   prompts through it, against the ideal time the teacher's latency and concurrency allow; the
   difference per prompt is the service's own overhead (Kafka, S3 cache and ledgers). Then the same
   size of job with two replicas, which share the work by partition.

Run:  .venv/bin/python -m benchmarks.teacher_querying
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from cli.stack import EmbeddedStack, StackConfig
from services.teacher.adapters import load_adapter
from services.teacher.limits import TeacherGate
from services.teacher.querying import Budget, Querier, Spend
from shared.events import DistillJob, JobStatus, RateLimits, TeacherSpec
from shared.kafka import make_broker
from shared.store import ArtifactStore
from tests.vendor_api import VendorServer

CLASSES = ["animal", "plant", "artifact", "person", "place", "time", "feeling"]


def max_in_window(times: list[float], window_s: float) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


async def pacing(vendor: VendorServer, limits: RateLimits, n: int, label: str) -> None:
    vendor.state.served.clear()
    spec = TeacherSpec(kind="openai-chat", url=vendor.url, model="bench", classes=CLASSES, limits=limits,
                       timeout_s=10)
    adapter = load_adapter(spec, vendor.state.api_key, None)
    querier = Querier(adapter, TeacherGate(label, limits), Budget(Spend(1e18, 1e18, 1e18), Spend()), Counter())
    texts = [f"{label} benchmark prompt {i} about a thing" for i in range(n)]
    await querier.ask(texts)
    await adapter.close()
    times = sorted(r.time for r in vendor.state.served)
    elapsed = times[-1] - times[0]
    if limits.requests_per_minute:
        limit_per_s = limits.requests_per_minute / 60
        achieved = (len(times) - 1) / elapsed
        peak = max_in_window(times, 1.0)
        print(f"  {label}: {len(times)} requests in {elapsed:.1f} s = {achieved:.2f}/s against {limit_per_s:.2f}/s: "
              f"{achieved / limit_per_s:.3f} of the limit; most in any 1 s window {peak} "
              f"(limit allows {limit_per_s:.0f} + 1)")
    else:
        tokens = querier.counts["input_tokens"] + querier.counts["output_tokens"]
        limit_per_s = limits.tokens_per_minute / 60
        # Tokens of the first request were paid from the bucket's start; the rate counts those after.
        per_request = tokens / len(times)
        achieved = (tokens - per_request) / elapsed
        print(f"  {label}: {tokens} tokens ({per_request:.0f} a request) in {elapsed:.1f} s = {achieved:.0f}/s "
              f"against {limit_per_s:.0f}/s: {achieved / limit_per_s:.3f} of the limit")


def spawn_teacher(stack: EmbeddedStack, name: str) -> None:
    stack._spawn(name, [sys.executable, "-m", "services.teacher"],
                 {**stack.env(), "BENCH_VENDOR_KEY": "sk-test-vendor"})


async def run_job(stack: EmbeddedStack, store: ArtifactStore, vendor: VendorServer, tag: str, n: int,
                  concurrency: int) -> tuple[float, dict]:
    body = "".join(json.dumps({"id": f"{tag}-{i}", "text": f"{tag} service prompt {i} {os.urandom(4).hex()}"}) + "\n"
                   for i in range(n))
    uri = store.put_bytes(f"prompts/bench-{tag}.jsonl", body.encode())
    job = DistillJob(job_id=f"bench-{tag}-{os.urandom(3).hex()}", name=tag, prompts_uri=uri,
                     teacher=TeacherSpec(kind="openai-chat", url=vendor.url, model="bench", classes=CLASSES,
                                         batch_size=25, api_key_env="BENCH_VENDOR_KEY",
                                         limits=RateLimits(max_concurrency=concurrency)))
    finished: asyncio.Future = asyncio.get_running_loop().create_future()
    broker = make_broker(stack.config.kafka(), "bench", logger=None)

    @broker.subscriber("distill.jobs.status", group_id=None, auto_offset_reset="latest")
    async def on_status(status: JobStatus) -> None:
        if status.job_id == job.job_id and status.state in ("done", "failed") and not finished.done():
            finished.set_result(status)

    async with broker:
        await broker.start()
        await asyncio.sleep(1.0)
        started = time.perf_counter()
        await broker.publish(job, "distill.jobs", key=job.job_id.encode())
        status = await asyncio.wait_for(finished, 600)
        return time.perf_counter() - started, status.counts


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", type=float, default=50)
    parser.add_argument("--prompts", type=int, default=600)
    parser.add_argument("--replica-latency-ms", type=float, default=200)
    parser.add_argument("--replica-prompts", type=int, default=240)
    args = parser.parse_args()
    with VendorServer() as vendor:
        vendor.state.latency_s = args.latency_ms / 1000
        print(f"pacing against a teacher with {args.latency_ms:.0f} ms latency (cpus: {os.cpu_count()})")
        await pacing(vendor, RateLimits(requests_per_minute=1800, max_concurrency=16), 450, "1,800 requests/min")
        await pacing(vendor, RateLimits(tokens_per_minute=120_000, max_concurrency=16), 300, "120,000 tokens/min")

        with tempfile.TemporaryDirectory() as home:
            stack = EmbeddedStack(StackConfig.on_free_ports(Path(home)))
            stack.start_infra()
            os.environ.update(stack.env())
            try:
                store = ArtifactStore(stack.config.s3())
                concurrency = 16
                spawn_teacher(stack, "teacher")
                stack.wait_services(timeout_s=120, names=("teacher",))
                await run_job(stack, store, vendor, "warmup", 50, concurrency)
                ideal = args.prompts * vendor.state.latency_s / concurrency
                wall, counts = await run_job(stack, store, vendor, "one", args.prompts, concurrency)
                print(f"service, 1 replica: {args.prompts} prompts in {wall:.1f} s (from submit to done; "
                      f"teacher-bound ideal {ideal:.1f} s at concurrency {concurrency}); overhead "
                      f"{(wall - ideal) / args.prompts * 1000:.1f} ms a prompt; answered {counts.get('answered'):.0f}")
                # Replicas share a job by partition. Measured where the teacher, not this machine's
                # two cores, is the bottleneck: a slow teacher, few requests at once per replica.
                vendor.state.latency_s = args.replica_latency_ms / 1000
                n, per_replica = args.replica_prompts, 4
                ideal = n * vendor.state.latency_s / per_replica
                one, _ = await run_job(stack, store, vendor, "r1", n, per_replica)
                spawn_teacher(stack, "teacher-2")
                stack.wait_services(timeout_s=120, names=("teacher-2",))
                await asyncio.sleep(5)  # the consumer group settles on two members
                two, counts2 = await run_job(stack, store, vendor, "r2", n, per_replica)
                print(f"replicas ({args.replica_latency_ms:.0f} ms teacher, {per_replica} requests at once per "
                      f"replica, {n} prompts): 1 replica {one:.1f} s (ideal {ideal:.1f} s), 2 replicas {two:.1f} s "
                      f"(ideal {ideal / 2:.1f} s): {one / two:.2f}x; answered {counts2.get('answered'):.0f}")
            finally:
                for name in ("teacher", "teacher-2"):
                    stack.stop(name)
                stack.down()


if __name__ == "__main__":
    asyncio.run(main())
