"""Prefix caching through the API, in one run: teacher-lm (and a student, if given) served with the
prefix cache off (`INFERENCE_PREFIX_CACHE_MB=0`) and on, asked the definition task's prompts greedily
by `--concurrency` OpenAI SDK callers and by one, answers as long as each model makes them.

Every definition prompt begins with the chat template's system prompt and "Define the word '", so
all but its last few tokens are a prefix another prompt already ran. Reported: output tokens/s, the
time to the first token, the prompt tokens the cache spared, and how many answers are the same
with the cache as without it (greedy: they should all be).

    .venv/bin/python -m benchmarks.prefix_cache                         # teacher-lm alone, about 4 minutes
    .venv/bin/python -m benchmarks.prefix_cache --student student-lm=.cache/llm-distillation/models/student-lm-sequence-topk-gold/1
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from benchmarks.llm_distillation import definition_sets
from cli.served import chat_answers, teacher_lm_served
from shared.keys import KeyStore
from shared.registry import ModelRegistry

ROOT = Path(__file__).resolve().parent.parent


async def main() -> None:
    from services.trainer.teacher_lm import ensure_teacher_lm

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=160, help="definition prompts: the shipped sample's last "
                        "nouns (a student may have trained on some; speed does not depend on it)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--cache-mb", type=int, default=128, help="INFERENCE_PREFIX_CACHE_MB when on")
    parser.add_argument("--student", action="append", default=[], metavar="NAME=FOLDER",
                        help="a generative model folder served beside teacher-lm (repeatable)")
    args = parser.parse_args()
    nouns, _ = definition_sets(5000, 0)
    # Each prompt is asked once per server: 8 to warm each model, then the load at many callers,
    # then 32 more at one (none repeated, so what is cached is what prompts share).
    warm, prompts, singles = nouns[-args.prompts - 40:-args.prompts - 32], nouns[-args.prompts - 32:-32], nouns[-32:]
    models = {"teacher-lm": ensure_teacher_lm(ROOT / ".cache")}
    models.update(dict((spec.split("=", 1)[0], Path(spec.split("=", 1)[1])) for spec in args.student))

    rows: dict[tuple[str, int], dict] = {}
    if args.cache_mb <= 0:
        parser.error("--cache-mb: the size when on, at least 1")
    for cache_mb in (0, args.cache_mb):
        env = {"INFERENCE_PREFIX_CACHE_MB": str(cache_mb), "INFERENCE_WATERMARK_TEXT_DELTA": "0"}
        with teacher_lm_served(models["teacher-lm"], env) as served:
            registry = ModelRegistry(served.store)
            for name, folder in models.items():
                if name != "teacher-lm":
                    registry.promote(name, registry.register(name, folder)[0])
            key = KeyStore(served.store).create("benchmark")
            for name in models:
                await chat_answers(served.base_url, key, name, warm, 1, args.max_tokens, wait_s=300)
                many = await chat_answers(served.base_url, key, name, prompts, args.concurrency, args.max_tokens)
                one = await chat_answers(served.base_url, key, name, singles, 1, args.max_tokens)
                rows[name, cache_mb] = {"many": many, "one": one}
                print(f"{name}, prefix cache {cache_mb} MB: {many['tokens_per_s']:.1f} tokens/s at "
                      f"{args.concurrency} callers, {one['tokens_per_s']:.1f} at 1; TTFT p50 {many['ttft_p50_ms']:.0f} ms "
                      f"({one['ttft_p50_ms']:.0f} ms at 1); prompt tokens cached {many['cached_tokens']} of "
                      f"{many['prompt_tokens']}", flush=True)

    teacher_off, teacher_on = rows["teacher-lm", 0], rows["teacher-lm", args.cache_mb]
    print(f"\n{len(prompts)} definition prompts, greedy, fp32, through the API at {args.concurrency} callers "
          f"(and 32 others at 1 caller)\n")
    print(f"| model | prefix cache | tokens/s at {args.concurrency} (x teacher, cache off) | tokens/s at 1 (x teacher, "
          f"cache off) | TTFT p50 at {args.concurrency} | TTFT p50 at 1 | prompt tokens cached | answers as without it "
          f"(at {args.concurrency}; at 1) |")
    print("|---|---|---|---|---|---|---|---|")
    for (name, cache_mb), row in rows.items():
        many, one, off = row["many"], row["one"], rows[name, 0]
        # At many callers rows share batches by timing; at one, only the cache differs.
        same = sum(off["many"]["answers"][p["id"]] == many["answers"][p["id"]] for p in prompts)
        same_one = sum(off["one"]["answers"][p["id"]] == one["answers"][p["id"]] for p in singles)
        print(f"| {name} | {'on' if cache_mb else 'off'} | {many['tokens_per_s']:.1f} "
              f"({many['tokens_per_s'] / teacher_off['many']['tokens_per_s']:.2f}) | {one['tokens_per_s']:.1f} "
              f"({one['tokens_per_s'] / teacher_off['one']['tokens_per_s']:.2f}) | {many['ttft_p50_ms']:.0f} ms | "
              f"{one['ttft_p50_ms']:.0f} ms | {many['cached_tokens'] / max(1, many['prompt_tokens']):.0%} | "
              f"{same}/{len(prompts)}; {same_one}/{len(singles)} |")
    for name in models:
        if name != "teacher-lm":
            for cache_mb, teacher in ((0, teacher_off), (args.cache_mb, teacher_on)):
                row = rows[name, cache_mb]
                print(f"{name} against teacher-lm, both with the cache {'on' if cache_mb else 'off'}: "
                      f"{row['many']['tokens_per_s'] / teacher['many']['tokens_per_s']:.2f}x at {args.concurrency} "
                      f"callers, {row['one']['tokens_per_s'] / teacher['one']['tokens_per_s']:.2f}x at 1")
    print(json.dumps({f"{name}@{mb}": {k: {m: v for m, v in r.items() if m != "answers"} for k, r in row.items()}
                      for (name, mb), row in rows.items()}))


if __name__ == "__main__":
    asyncio.run(main())
