"""Is `distillery verify`'s p-value correct when it reads a suspect's logits? Under the null (a
model that never saw text made with the key), P(p < alpha) must be at most alpha.

teacher-lm, run here without any watermark (the ONNX suspect `verify --onnx` runs), answers our
probe prompts greedily; at every position its top 20 tokens are kept, as `verify` reads them. The
same answers are then scored under many keys it never saw, each a fresh split of the vocabulary:
for a fixed text the p-values over random keys are draws from the test's null distribution. Both
tests are measured: the tokens it wrote alone, and with its top 20 (the verdict's test).

The reading test (`verify --read`, shared.text_watermark.score_reading) has a harder null: the
texts it feeds the suspect are marked. So `--reading-keys N` also has teacher-lm write answers
marked under N keys of their own (greedy, the inference service's processor at its default
strength), reads each key's answers back unmarked and scores them under that key: the base model
predicting its own marked text is the closest an innocent model comes to the mark.

    .venv/bin/python -m benchmarks.logit_null          # about 6 minutes on 2 CPUs
    .venv/bin/python -m benchmarks.logit_null --keys 0 --reading-keys 200
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ks_uniform(values: list[float]) -> float:
    """Kolmogorov-Smirnov distance of the values' empirical distribution from uniform on [0, 1]."""
    ordered = sorted(values)
    n = len(ordered)
    return max(max((i + 1) / n - v, v - i / n) for i, v in enumerate(ordered))


async def main() -> None:
    from cli.verify import OnnxChatSuspect, probe_prompts
    from services.trainer.teacher_lm import ensure_teacher_lm
    from shared.text_watermark import score_texts
    from shared.tokens import vocabulary_by_bytes
    from shared.watermark import WatermarkKey

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=100)
    parser.add_argument("--keys", type=int, default=1000, help="keys the answers are scored under")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--reading-keys", type=int, default=0, help="keys that each mark their own answers to read")
    parser.add_argument("--texts-per-key", type=int, default=5)
    args = parser.parse_args()
    if args.reading_keys:
        reading_null(args)
    if not args.keys:
        return

    folder = ensure_teacher_lm(ROOT / ".cache")
    suspect = OnnxChatSuspect(folder, args.max_tokens)
    started = time.perf_counter()
    answers = await suspect.ranked(probe_prompts(args.prompts), args.top_k, vocabulary_by_bytes(suspect.model.tokenizer))
    print(f"{len(answers)} answers of teacher-lm (unmarked, top {args.top_k} kept) in {time.perf_counter() - started:.0f} s")
    ids = [a.ids or [] for a in answers]
    alternatives = [a.alternatives for a in answers]
    keys = [WatermarkKey(f"null-{i}", hashlib.sha256(f"logit-null-{i}".encode()).digest()) for i in range(args.keys)]
    print(f"\n{args.keys} keys it never saw; p-values of one test each:\n")
    print("| test | distinct pairs | keys below p = 0.01 | below 0.05 | below 0.1 | smallest p | KS distance from uniform |")
    print("|---|---|---|---|---|---|---|")
    for name, ranked in (("written tokens alone", None), (f"with its top {args.top_k} (the verdict's)", alternatives)):
        tests = [score_texts(key, ids, ranked) for key in keys]
        p = [t.p_value for t in tests]
        below = {alpha: sum(v < alpha for v in p) / len(p) for alpha in (0.01, 0.05, 0.1)}
        # The binomial is discrete: its p-values are conservative, so the KS distance is a bound, not a fit.
        print(f"| {name} | {tests[0].scored:,} | {below[0.01]:.3f} | {below[0.05]:.3f} | {below[0.1]:.3f} | "
              f"{min(p):.2g} | {ks_uniform(p):.3f} |")


def reading_null(args) -> None:
    """p-values of the reading test on an unmarked model fed text marked under each key."""
    import numpy as np

    from cli.verify import probe_prompts
    from services.inference.settings import InferenceSettings
    from services.trainer.teacher_lm import ensure_teacher_lm
    from shared.generation import LanguageModel
    from shared.text_watermark import GreenList, WatermarkProcessor, score_reading
    from shared.watermark import WatermarkKey

    model = LanguageModel(ensure_teacher_lm(ROOT / ".cache"), device="cpu")
    delta = InferenceSettings().watermark_text_delta
    questions = probe_prompts(args.reading_keys * args.texts_per_key, seed=2)
    started = time.perf_counter()
    tests: dict[int, list] = {1: [], args.top_k: []}
    for i in range(args.reading_keys):
        key = WatermarkKey(f"reading-null-{i}", hashlib.sha256(f"reading-null-{i}".encode()).digest())
        marker = WatermarkProcessor(GreenList(key), delta)
        prompts = [model.encode(model.render_chat([{"role": "user", "content": q}]))
                   for q in questions[i * args.texts_per_key:(i + 1) * args.texts_per_key]]
        texts = [[t for t, _ in model.greedy_steps(p, args.max_tokens, marker) if t not in model.eos_token_ids]
                 for p in prompts]
        ranked = model.forced_top_k(prompts, texts, args.top_k)
        for k in tests:
            tops = [[top[:k] for top in r] for r in ranked]  # each position's tokens, best first
            tests[k].append(score_reading(key, zip(prompts, texts, tops)))
    print(f"\n{args.reading_keys} keys, {args.texts_per_key} answers of teacher-lm marked under each (delta {delta}), "
          f"read back by teacher-lm unmarked ({time.perf_counter() - started:.0f} s):\n")
    print("| reading test | distinct pairs per key (mean) | green share, all keys pooled | z, pooled "
          "| keys below p = 0.01 | below 0.05 | below 0.1 | KS distance from uniform |")
    print("|---|---|---|---|---|---|---|---|")
    for k, results in tests.items():
        p = [t.p_value for t in results]
        scored, green = sum(t.scored for t in results), sum(t.green for t in results)
        z = (green - 0.25 * scored) / np.sqrt(scored * 0.25 * 0.75)
        below = {alpha: sum(v < alpha for v in p) / len(p) for alpha in (0.01, 0.05, 0.1)}
        print(f"| top {k} | {scored / len(results):,.0f} | {green / scored:.4f} | {z:.2f} | {below[0.01]:.3f} | "
              f"{below[0.05]:.3f} | {below[0.1]:.3f} | {ks_uniform(p):.3f} |")


if __name__ == "__main__":
    asyncio.run(main())
