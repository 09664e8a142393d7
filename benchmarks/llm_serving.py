"""teacher-lm as a client gets it, against its engine called directly, in one run:
- direct: the continuous-batching engine (shared.generation.Engine) in this process;
- served: the inference service as its own process on an embedded stack started here, called with
  the `openai` SDK (streamed chats, so the time to the first token is seen as a client sees it).
The same mixed-length prompts (about 30 to 300 tokens) and exactly `--max-tokens` new tokens a
request (vLLM's ignore_eos), at each concurrency. Greedy, fp32.

    .venv/bin/python -m benchmarks.llm_serving        # about 4 minutes on 2 CPUs

The load generator shares the machine with the service, as a client on the same host would.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from cli.served import chat_load, engine_load, teacher_lm_served
from services.trainer.teacher_lm import mixed_chat_prompts
from shared.generation import Engine, LanguageModel
from shared.keys import KeyStore
from shared.textmodel import cpu_limit

ROOT = Path(__file__).resolve().parent.parent


async def main() -> None:
    from services.trainer.teacher_lm import ensure_teacher_lm

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[1, 4, 16])
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="requests per caller at each concurrency")
    parser.add_argument("--max-sequences", type=int, default=16, help="the engine's batch (INFERENCE_MAX_SEQUENCES)")
    parser.add_argument("--int8", action="store_true", help="also teacher-lm-int8's engine, directly (built if missing)")
    args = parser.parse_args()
    prompts = mixed_chat_prompts(64)
    model_dir = ensure_teacher_lm(ROOT / ".cache")
    points = [(c, max(args.rounds * c, 3)) for c in args.concurrency]

    lm = LanguageModel(model_dir, device="cpu")
    lengths = sorted(len(lm.encode(lm.render_chat(p))) for p in prompts)
    print(f"prompts: {len(prompts)}, {lengths[0]}-{lengths[-1]} tokens (median {lengths[len(lengths) // 2]}); "
          f"{args.max_tokens} new tokens a request; {cpu_limit()} CPUs", flush=True)
    engine = Engine(lm, max_batch=args.max_sequences, max_waiting=1024)
    engine.start()
    direct = {}
    for concurrency, requests in points:
        direct[concurrency] = engine_load(engine, prompts, concurrency, requests, args.max_tokens)
        print(f"direct  concurrency {concurrency:2d}: {direct[concurrency]['tokens_per_s']:6.1f} tokens/s, "
              f"TTFT p50 {direct[concurrency]['ttft_p50_ms']:.0f} ms", flush=True)
    engine.stop()
    del engine, lm

    rows = []
    # The serving path against the engine alone: the watermark's own cost on generations is
    # measured apart (benchmarks.text_watermark).
    with teacher_lm_served(model_dir, {"INFERENCE_MAX_SEQUENCES": str(args.max_sequences),
                                       "INFERENCE_MAX_WAITING_SEQUENCES": "1024",
                                       "INFERENCE_WATERMARK_TEXT_DELTA": "0",
                                       # the engine called directly keeps none (benchmarks.prefix_cache measures it)
                                       "INFERENCE_PREFIX_CACHE_MB": "0"}) as served_teacher:
        key = KeyStore(served_teacher.store).create("benchmark")
        for concurrency, requests in points:
            served = await chat_load(served_teacher.base_url, key, "teacher-lm", prompts, concurrency, requests,
                                     args.max_tokens)
            row = {"concurrency": concurrency, "served": served, "direct": direct[concurrency]}
            rows.append(row)
            print(f"served  concurrency {concurrency:2d}: {served['tokens_per_s']:6.1f} tokens/s "
                  f"({served['tokens_per_s'] / direct[concurrency]['tokens_per_s']:.2f} of direct), "
                  f"TTFT p50 {served['ttft_p50_ms']:.0f} ms, p95 {served['ttft_p95_ms']:.0f} ms", flush=True)
    if args.int8:  # after the served runs, so that nothing of it is in memory then
        from services.trainer.teacher_lm import ensure_teacher_lm_int8

        int8_dir = ensure_teacher_lm_int8(ROOT / ".cache")
        engine = Engine(LanguageModel(int8_dir, device="cpu"), max_batch=args.max_sequences, max_waiting=1024)
        engine.start()
        for concurrency, requests in points:
            point = engine_load(engine, prompts, concurrency, requests, args.max_tokens)
            print(f"direct, int8  concurrency {concurrency:2d}: {point['tokens_per_s']:6.1f} tokens/s "
                  f"({point['tokens_per_s'] / direct[concurrency]['tokens_per_s']:.2f}x fp32)", flush=True)
        engine.stop()
        print(f"int8 quality cost: {json.loads((int8_dir / 'card.json').read_text())['quality_cost']}", flush=True)
    print("\n| concurrency | requests | served tokens/s | direct tokens/s | served/direct | TTFT p50 served (direct) "
          "| TTFT p95 served (direct) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        s, d = r["served"], r["direct"]
        print(f"| {r['concurrency']} | {s['requests']} | {s['tokens_per_s']:.1f} | {d['tokens_per_s']:.1f} | "
              f"{s['tokens_per_s'] / d['tokens_per_s']:.2f} | {s['ttft_p50_ms']:.0f} ms ({d['ttft_p50_ms']:.0f} ms) | "
              f"{s['ttft_p95_ms']:.0f} ms ({d['ttft_p95_ms']:.0f} ms) |")
    by = {r["concurrency"]: r["served"]["tokens_per_s"] for r in rows}
    if 1 in by and 16 in by:
        print(f"\nserved, concurrency 16 / concurrency 1: {by[16] / by[1]:.1f}x")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    asyncio.run(main())
