"""Training throughput of a student-lm with 1 and with more torchrun workers, through the trainer's
own loop (services.trainer.student_lm.train_student_lm; gloo on CPU, nccl on GPUs).

The student has teacher-lm's shape (SmolLM2-135M: hidden 576, 49,152-token vocabulary) with
`--layers` layers and a head over `--head-tokens` tokens, as the issue-20 students do; its weights
are random (speed does not depend on them, and a GPU machine need not hold the model). The examples
have the definition task's shape: chat prompts of 30-60 tokens, answers of 10-40, the teacher's top 20
at every answer position. Every run takes the same global batches in the same order; the figure is
answer tokens trained per second over the whole run (warm-up included), and the ratio to 1 worker.

    .venv/bin/python -m benchmarks.distributed_training --workers 1 2            # CPU: about 3 minutes
    python -m benchmarks.distributed_training --workers 1 --device cuda          # on a GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# teacher-lm's architecture (its model.json).
VOCAB = 49152
SMOLLM2 = dict(vocab_size=VOCAB, hidden_size=576, intermediate_size=1536, num_layers=30, num_heads=9,
               num_kv_heads=3, head_dim=64, rms_norm_eps=1e-5, rope_theta=100000.0, max_positions=8192)


def examples(n: int, seed: int, vocab: int):
    from services.trainer.student_lm import LMExample

    rng = random.Random(seed)
    made = []
    for _ in range(n):
        prompt = [rng.randrange(vocab) for _ in range(rng.randint(30, 60))]
        target = [rng.randrange(vocab) for _ in range(rng.randint(10, 40))]
        top_ids = [[rng.randrange(vocab) for _ in range(20)] for _ in target]
        top_logprobs = [sorted((-rng.expovariate(1.0) for _ in range(20)), reverse=True) for _ in target]
        made.append(LMExample(prompt, target, top_ids, top_logprobs))
    return made


def worker(args: argparse.Namespace) -> None:
    """One torchrun worker: trains, and rank 0 writes the figures to args.out."""
    import torch

    from services.trainer.causal_lm import CausalLM, DecoderConfig
    from services.trainer.distributed import join, leave
    from services.trainer.student_lm import LMTraining, train_student_lm

    local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))
    workers = join("gloo" if args.device == "cpu" else "auto")
    torch.manual_seed(0)
    teacher = CausalLM(DecoderConfig(**{**SMOLLM2, "num_layers": args.layers}))
    for name, weight in teacher.named_parameters():  # a trained model's scale, not nn.Embedding's N(0, 1)
        if "norm" not in name:
            torch.nn.init.normal_(weight, std=0.02)
    train = examples(args.steps * args.batch_size, seed=1, vocab=VOCAB)
    val = examples(8, seed=2, vocab=VOCAB)
    head = sorted(random.Random(3).sample(range(VOCAB), args.head_tokens)) if args.head_tokens else None
    config = LMTraining(layers=args.layers, epochs=1, batch_size=args.batch_size, learning_rate=1e-4)
    if workers.device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    _, history = train_student_lm(teacher, config, train, val, pad_id=0, head_ids=head, workers=workers)
    if workers.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    if workers.main:
        tokens = sum(len(e.target) for e in train)
        Path(args.out).write_text(json.dumps({
            "workers": workers.world, "device": str(workers.device), "steps": len(history.steps),
            "answer_tokens": tokens, "seconds": seconds, "tokens_per_s": tokens / seconds,
            "first_loss": history.steps[0]["loss"], "last_loss": history.steps[-1]["loss"],
            "peak_gpu_bytes": torch.cuda.max_memory_allocated() if workers.device.type == "cuda" else None}))
    leave()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--head-tokens", type=int, default=8192)
    parser.add_argument("--batch-size", type=int, default=16, help="the global batch, split between workers")
    parser.add_argument("--steps", type=int, default=24)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    results = []
    for n in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "result.json"
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={n}",
                       "-m", "benchmarks.distributed_training", "--worker", "--out", str(out),
                       "--layers", str(args.layers), "--head-tokens", str(args.head_tokens),
                       "--batch-size", str(args.batch_size), "--steps", str(args.steps), "--device", args.device]
            subprocess.run(command, check=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
            results.append(json.loads(out.read_text()))
    base = results[0]["tokens_per_s"]
    print(f"\nstudent-lm ({args.layers} layers, head {args.head_tokens}), global batch {args.batch_size}, "
          f"{args.steps} steps, {os.cpu_count()} CPUs")
    print("| workers | device | answer tokens/s | vs first | loss first -> last | peak GPU memory |")
    print("|---|---|---|---|---|---|")
    for r in results:
        peak = f"{r['peak_gpu_bytes'] / 2**30:.2f} GiB" if r["peak_gpu_bytes"] else "-"
        print(f"| {r['workers']} | {r['device']} | {r['tokens_per_s']:.0f} | {r['tokens_per_s'] / base:.2f}x "
              f"| {r['first_loss']:.3f} -> {r['last_loss']:.3f} | {peak} |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
