"""How many of teacher-lm's 30 layers a chat student can keep: output tokens/s of students sliced
from the teacher (untrained: speed does not depend on the weights) against the teacher, greedy, in
one run, and the seconds a training step costs (batch of 8 definition prompts with their gold
answers, embedding frozen), so the layer count is chosen on measured arithmetic.

    .venv/bin/python -m benchmarks.lm_student_size            # about 4 minutes on 2 CPUs
    .venv/bin/python -m benchmarks.lm_student_size --head-tokens 8192 --layers 6 8 10

Speed: onnxruntime, CPU, the exported graph with its KV cache (what the inference service runs),
batch 1, on the same 8 prompts, 32 new tokens at most.
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import torch

from services.trainer.lm_distillation import spaced_layers
from services.trainer.student_lm import (
    LMTraining,
    examples_from_rows,
    greedy_answers,
    train_student_lm,
    write_student_lm,
)
from services.trainer.teacher_lm import ensure_teacher_lm, teacher_causal_lm
from shared.generation import ChatFormat, LanguageModel
from shared.textmodel import cpu_limit

ROOT = Path(__file__).resolve().parent.parent


def gold_rows(chat: ChatFormat, n: int) -> list[dict]:
    """Definition prompts with their gold answers in the curator's row format."""
    with gzip.open(ROOT / "data/wordnet/definitions.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f][:n]
    return [{"text": f"Define the word '{r['lemma']}' in one sentence.", "gold_label": r["gloss"]} for r in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, nargs="*", default=[3, 4, 5, 6, 8, 10])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--head-tokens", type=int, default=0,
                        help="students with a head of their own over this many tokens (0: the tied head)")
    args = parser.parse_args()
    torch.set_num_threads(cpu_limit())
    teacher_dir = ensure_teacher_lm(ROOT / ".cache")
    chat = ChatFormat(teacher_dir)
    teacher = teacher_causal_lm(ROOT / ".cache" / "trainer")
    examples, _ = examples_from_rows(gold_rows(chat, 64), chat, source="gold")
    prompts = examples[:8]
    _, teacher_tps = greedy_answers(LanguageModel(teacher_dir, device="cpu"), prompts, args.tokens)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for layers in args.layers:
            config = LMTraining(layers=layers, epochs=1, batch_size=8, loss="gold", learning_rate=1e-12)
            started = time.perf_counter()
            # Speed does not depend on which tokens a restricted head covers.
            student, _ = train_student_lm(teacher, config, examples, [], chat.pad_token_id,
                                          head_ids=list(range(args.head_tokens)) or None)
            step_s = (time.perf_counter() - started) / (len(examples) / 8)
            out = Path(work) / f"student-{layers}"
            write_student_lm(student, teacher_dir, out, f"student-{layers}")
            _, tps = greedy_answers(LanguageModel(out, device="cpu"), prompts, args.tokens)
            params = sum(p.numel() for p in student.parameters())
            rows.append((layers, params, tps, step_s))
            print(f"{layers:2d} layers {spaced_layers(30, layers)}: {params / 1e6:.1f} M parameters, {tps:.1f} tokens/s "
                  f"({tps / teacher_tps:.2f}x the teacher), {step_s:.2f} s a training step", flush=True)
    head = f"a head over {args.head_tokens:,} tokens" if args.head_tokens else "the tied head"
    print(f"\n{cpu_limit()} CPUs, students with {head}; teacher-lm (30 layers, {sum(p.numel() for p in teacher.parameters()) / 1e6:.1f} M "
          f"parameters): {teacher_tps:.1f} tokens/s\n")
    print("| layers kept | parameters | tokens/s | x teacher | s a training step (8 prompts) |")
    print("|---|---|---|---|---|")
    print(f"| 30 (teacher) | {sum(p.numel() for p in teacher.parameters()) / 1e6:.1f} M | {teacher_tps:.1f} | 1.00 | |")
    for layers, params, tps, step_s in rows:
        print(f"| {layers} | {params / 1e6:.1f} M | {tps:.1f} | {tps / teacher_tps:.2f} | {step_s:.2f} |")


if __name__ == "__main__":
    main()
