"""What a client gets through the API against what the model does alone, measured side by side in
one run. For the teacher and a fast static student (trained here with the trainer's own code):
- direct: onnxruntime in this process (TextClassifier.predict), 64 texts a call and 1 text a call;
- served: the inference service as its own process tree on an embedded stack started here, called
  over gRPC (Open Inference Protocol) with 64 texts a request and with 1 text a request (concurrent
  callers, which dynamic batching runs together), with 1 serving process and with one per CPU.
served / direct is the share of the model's speed a client gets. Also p50/p99 latency, and the CPU
time each party spends a request (the service, this process as the load generator, the broker), so
the two shared cores can be accounted for; and, as a reference, the same callers against an OIP
server that answers without doing anything (`--ceiling`): what Python gRPC itself allows here.

    .venv/bin/python -m benchmarks.inference_serving         # about 5 minutes on 2 CPUs

The load generator shares the machine with the service, as perf_analyzer usually does; on two
cores its own gRPC work is part of what is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from cli.served import direct_throughput, heldout_texts, served_point
from cli.stack import EmbeddedStack, StackConfig, listen_port
from shared.keys import KeyStore
from shared.registry import ModelRegistry
from shared.store import ArtifactStore
from shared.textmodel import TextClassifier, cpu_limit

ROOT = Path(__file__).resolve().parent.parent


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its descendants (the serving processes) have used."""
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve_nothing(address: str) -> None:
    """An OIP server whose ModelInfer answers one label at once: no auth, model, batching or events."""
    import grpc

    from shared.oip import LABEL_OUTPUT, encode_bytes_tensor, pb, pb_grpc

    class Nothing(pb_grpc.GRPCInferenceServiceServicer):
        async def ModelInfer(self, request, context):
            response = pb.ModelInferResponse(model_name=request.model_name, model_version="1", id=request.id)
            response.outputs.add(name=LABEL_OUTPUT, datatype="BYTES", shape=[1])
            response.raw_output_contents.append(encode_bytes_tensor([b"noun.artifact"]))
            return response

    async def serve() -> None:
        server = grpc.aio.server(options=[("grpc.so_reuseport", 1)])
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(Nothing(), server)
        server.add_insecure_port(address)
        await server.start()
        await server.wait_for_termination()

    asyncio.run(serve())


async def ceiling_point(processes: int, texts: list[str], per_request: int, concurrency: int, seconds: float) -> dict:
    """The same callers against `_serve_nothing` in `processes` processes sharing one port."""
    import grpc

    address = f"127.0.0.1:{listen_port(set())}"
    # Spawned, not forked: gRPC's threads do not survive a fork of a process that has used it.
    spawn = multiprocessing.get_context("spawn")
    servers = [spawn.Process(target=_serve_nothing, args=(address,), daemon=True) for _ in range(processes)]
    for server in servers:
        server.start()
    try:
        async with grpc.aio.insecure_channel(address) as channel:
            await asyncio.wait_for(channel.channel_ready(), 60)
        return await served_point(address, "", "nothing", texts, per_request, concurrency, seconds,
                                  channels=2 * processes)
    finally:
        for server in servers:
            server.terminate()
            server.join()


def wait_processes(stack: EmbeddedStack, processes: int, since: int = 0, timeout_s: float = 180.0) -> None:
    """Until every serving process has logged (past `since` characters of the log) that it is serving."""
    log = stack.log_dir / "inference.log"
    deadline = time.monotonic() + timeout_s
    while log.read_text(errors="replace")[since:].count("ready, serving") < processes:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{processes} serving processes not up after {timeout_s:.0f} s; see {log}")
        time.sleep(0.5)


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


# Where a served request's time goes, by part of the service (cProfile's cumulative seconds, which
# include the profiler's own overhead: compare the parts, not the totals with unprofiled runs).
PROFILE_PARTS = {
    "gRPC handler (all of it)": "server.py:*(ModelInfer)",
    "  reply (outputs, request event handed over)": "server.py:*(_respond)",
    "  watermark decision": "server.py:*(_watermark)",
    "  authentication": "access.py:*(authenticate)",
    "  caller's network and agent": "server.py:*(_caller)",
    "  input decoding and checks": "server.py:*(_texts_from_request)",
    "request events (after the reply)": "server.py:*(_run)",
    "  fingerprints": "fingerprint.py:*(batch_fingerprints)",
    "  publishing to Kafka": "kafka.py:*(publish)",
    "event loop and gRPC machinery (own time)": "~:0(<method 'run' of '_contextvars.Context' objects>)",
}


def print_profile(path: Path, requests: int) -> None:
    import fnmatch
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    print(f"  per request, of {requests} (cProfile, one serving process):")
    for part, pattern in PROFILE_PARTS.items():
        file_pattern, _, function = pattern.partition("(")
        seconds = sum((s[2] if "own time" in part else s[3]) for (file, line, name), s in stats.items()
                      if f"({name})" == f"({function}" and fnmatch.fnmatch(f"{Path(file).name}:{line}", file_pattern))
        print(f"    {part:48s} {seconds / requests * 1e6:8.0f} us")


async def main() -> None:
    from services.trainer.teacher_model import ensure_teacher_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="per point")
    parser.add_argument("--models", nargs="*", default=["teacher", "student"])
    parser.add_argument("--processes", type=int, nargs="*", default=sorted({1, cpu_limit()}),
                        help="serving processes (INFERENCE_PROCESSES) to measure")
    parser.add_argument("--points", nargs="*", default=["64x4", "1x64"],
                        help="texts per request x concurrent callers")
    parser.add_argument("--ceiling", action="store_true",
                        help="also measure the callers against an OIP server that does nothing (the transport's ceiling)")
    parser.add_argument("--profile", action="store_true",
                        help="run one serving process under cProfile, one point per run, and say where its time went")
    args = parser.parse_args()
    if args.profile:
        args.processes = [1]
    points = [tuple(int(v) for v in p.split("x")) for p in args.points]
    texts = heldout_texts(2000)[-1000:]
    teacher_dir = ensure_teacher_model(ROOT / ".cache")
    with tempfile.TemporaryDirectory() as home:
        folders = {"teacher": teacher_dir}
        if "student" in args.models:
            folders["student"] = fast_student(teacher_dir, Path(home))
        direct = {(m, n): direct_throughput(folders[m], texts, n, args.seconds)
                  for m in args.models for n in sorted({n for n, _ in points})}
        stack = EmbeddedStack(StackConfig.on_free_ports(Path(home) / "stack"))
        stack.start_infra()
        os.environ.update(stack.env())
        rows = []
        try:
            store = ArtifactStore(stack.config.s3())
            registry = ModelRegistry(store)
            for name in args.models:
                version, _ = registry.register(name, folders[name])
                registry.promote(name, version)
            key = KeyStore(store).create("benchmark", scopes=("probabilities",))
            url = f"127.0.0.1:{stack.config.inference_port}"
            runs = [(p, args.models, points, None) for p in args.processes] if not args.profile else \
                [(1, [m], [pt], Path(home) / f"{m}-{pt[0]}x{pt[1]}.prof") for m in args.models for pt in points]
            for processes, models, run_points, profile in runs:
                profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
                log = stack.log_dir / "inference.log"
                since = len(log.read_text(errors="replace")) if log.exists() else 0
                stack._spawn("inference", [sys.executable, *profiler, "-m", "services.inference"],
                             {**stack.env(), "INFERENCE_PROCESSES": str(processes),
                              "INFERENCE_MODEL_CACHE": str(Path(home) / f"models-{processes}")})
                stack.wait_services(timeout_s=180, names=("inference",))
                wait_processes(stack, processes, since)
                pid = stack._running_pid("inference")
                assert pid is not None
                for model in models:
                    for per_request, concurrency in run_points:
                        parties = {"server": pid, "broker": stack._running_pid("tansu")}
                        before = {name: tree_cpu_seconds(p) for name, p in parties.items() if p}
                        before["client"] = own_cpu_seconds()
                        point = await served_point(url, key, model, texts, per_request, concurrency, args.seconds,
                                                   channels=2 * processes)
                        # CPU per request by party: steadier on a shared machine than throughput, and
                        # it says where the two cores went.
                        after = {name: tree_cpu_seconds(p) for name, p in parties.items() if p}
                        after["client"] = own_cpu_seconds()
                        for name in before:
                            point[f"{name}_cpu_us"] = (after[name] - before[name]) / point["requests"] * 1e6
                        row = {"model": model, "processes": processes, "per_request": per_request,
                               "concurrency": concurrency, "direct": direct[model, per_request], **point}
                        rows.append(row)
                        print(f"{model:8s} {processes} process(es), {per_request:2d} texts/request x {concurrency:2d}: "
                              f"{row['texts_per_s']:7.0f} texts/s served, {row['direct']:7.0f} direct "
                              f"({row['texts_per_s'] / row['direct']:.2f}), p50 {row['p50_ms']:.2f} ms, "
                              f"p99 {row['p99_ms']:.2f} ms; CPU a request: server {row['server_cpu_us']:.0f} us, load generator "
                              f"{row['client_cpu_us']:.0f} us, broker {row.get('broker_cpu_us', 0):.0f} us", flush=True)
                stack.stop("inference")
                if profile:
                    print_profile(profile, rows[-1]["requests"] + len(models))
            if args.ceiling:
                for per_request, concurrency in points:
                    for processes in args.processes:
                        before_client = own_cpu_seconds()
                        point = await ceiling_point(processes, texts, per_request, concurrency, args.seconds)
                        point["client_cpu_us"] = (own_cpu_seconds() - before_client) / point["requests"] * 1e6
                        rows.append({"model": "(no model: ceiling)", "processes": processes, "per_request": per_request,
                                     "concurrency": concurrency, "direct": float("nan"), "server_cpu_us": float("nan"),
                                     **point})
                        print(f"ceiling  {processes} process(es), {per_request:2d} texts/request x {concurrency:2d}: "
                              f"{point['texts_per_s']:7.0f} texts/s from a server that does nothing", flush=True)
        finally:
            stack.down()
    print(f"\n{cpu_limit()} CPUs, {args.seconds:.0f} s a point; direct = onnxruntime in this process, the same "
          f"texts per call\n")
    print("| model | serving processes | texts/request x callers | served texts/s | direct texts/s | served/direct "
          "| p50 | p99 | CPU a request: server, load generator, broker |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['processes']} | {r['per_request']} x {r['concurrency']} | {r['texts_per_s']:.0f} | "
              f"{r['direct']:.0f} | {r['texts_per_s'] / r['direct']:.2f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms | "
              f"{r['server_cpu_us']:.0f}, {r['client_cpu_us']:.0f}, {r.get('broker_cpu_us', float('nan')):.0f} us |")
    best: dict[tuple[str, int], dict] = {}
    for r in rows:
        if r["model"] not in args.models:
            continue
        k = (r["model"], r["per_request"])
        if k not in best or r["texts_per_s"] > best[k]["texts_per_s"]:
            best[k] = r
    print()
    for (model, per_request), r in sorted(best.items()):
        print(f"{model}: served/direct {r['texts_per_s'] / r['direct']:.2f} at {per_request} text(s) per request "
              f"({r['processes']} serving process(es))")
    if {"teacher", "student"} <= set(args.models):
        for per_request in sorted({n for n, _ in points}, reverse=True):
            s, t = best["student", per_request], best["teacher", per_request]
            print(f"student / teacher at {per_request} text(s) per request: served {s['texts_per_s'] / t['texts_per_s']:.1f}x, "
                  f"model alone {s['direct'] / t['direct']:.1f}x")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    asyncio.run(main())
