"""The generations' watermark, measured the way users meet it: teacher-lm's answers through our
OpenAI-compatible API to an allow-listed key (unmarked) and to an ordinary key (marked), on the
definition task's two evaluation sets (benchmarks.llm_distillation: nouns phrased one way, verbs and
adjectives phrased two others), greedy, fp32.

- Quality: ROUGE-L against WordNet's gloss, marked against unmarked (the issue's bound: 2% relative).
- Detection: the share of single marked answers `distillery verify --text` names at p < 1e-6 and at
  p < 0.01, and how many answers pooled reach p < 1e-6.
- The null: the test's false-positive rate on single ordinary texts (WordNet glosses, and the
  unmarked answers), which were written without the key.
- Speed: output tokens/s to each key at `--concurrency` callers (the processor's cost).
- Paraphrasing, the known attack on green lists: each marked answer rewritten by a model that
  does not hold the key (teacher-lm itself to the allow-listed key, unmarked: the only other
  generative model on this machine is a student of it), then tested as above. How far the
  rewrite moved is its ROUGE-L against the marked answer.

    .venv/bin/python -m benchmarks.text_watermark      # about 10 minutes on 2 CPUs
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import statistics
from pathlib import Path

from benchmarks.llm_distillation import definition_sets
from cli.served import chat_answers, teacher_lm_served
from cli.stack import TEACHER_CLIENT
from cli.verify import verify_texts
from services.inference.settings import InferenceSettings
from shared.generation import ChatFormat
from shared.keys import KeyStore
from shared.textmetrics import rouge_l
from shared.watermark import parse_keys

ROOT = Path(__file__).resolve().parent.parent
PARAPHRASE = "Rewrite this sentence in your own words, keeping its meaning: {}"


def single_text_rates(texts: list[str], encode, keys) -> dict:
    p = [verify_texts([t], encode, keys).log10_p_value for t in texts if t]
    return {"texts": len(p), "below_1e-6": sum(v < -6 for v in p) / len(p), "below_0.01": sum(v < -2 for v in p) / len(p)}


def pooled_to_significance(texts: list[str], encode, keys) -> int | None:
    """How many answers, taken in order, the test needs to reach p < 1e-6 (each encoded once)."""
    ids = {text: encode(text) for text in texts}
    for n in range(1, len(texts) + 1):
        if verify_texts(texts[:n], ids.__getitem__, keys).log10_p_value < -6:
            return n
    return None


async def main() -> None:
    from services.trainer.teacher_lm import ensure_teacher_lm

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nouns", type=int, default=300)
    parser.add_argument("--validation", type=int, default=200)
    parser.add_argument("--ordinary", type=int, default=2000, help="WordNet glosses for the false-positive rate")
    parser.add_argument("--delta", type=float, default=InferenceSettings.model_fields["watermark_text_delta"].default,
                        help="INFERENCE_WATERMARK_TEXT_DELTA (the service's default unless given)")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--no-paraphrase", action="store_true", help="skip the paraphrasing attack")
    args = parser.parse_args()
    nouns, validation = definition_sets(args.nouns, args.validation)
    model_dir = ensure_teacher_lm(ROOT / ".cache")
    chat = ChatFormat(model_dir)
    results: dict = {}
    with teacher_lm_served(model_dir, {"INFERENCE_WATERMARK_TEXT_DELTA": str(args.delta)}) as served_teacher:
        keys = parse_keys(served_teacher.stack.env()["WATERMARK_KEYS"])
        ours = KeyStore(served_teacher.store).create(TEACHER_CLIENT)
        ordinary = KeyStore(served_teacher.store).create("ordinary-user")
        for set_name, prompts in (("nouns", nouns), ("validation", validation)):
            row: dict = {}
            for who, key in (("unmarked", ours), ("marked", ordinary)):
                got = await chat_answers(served_teacher.base_url, key, "teacher-lm", prompts, args.concurrency,
                                         args.max_tokens)
                texts = [got["answers"][p["id"]] for p in prompts]
                row[who] = {"rouge_l_gold": statistics.mean(rouge_l(t, p["gloss"]) for t, p in zip(texts, prompts)),
                            "tokens_per_s": got["tokens_per_s"], "single": single_text_rates(texts, chat.encode, keys),
                            "texts": texts}
                print(set_name, who, json.dumps({k: v for k, v in row[who].items() if k != "texts"}), flush=True)
            if not args.no_paraphrase:
                marked = row["marked"]["texts"]
                asks = [{"id": p["id"], "text": PARAPHRASE.format(t)} for p, t in zip(prompts, marked)]
                got = await chat_answers(served_teacher.base_url, ours, "teacher-lm", asks, args.concurrency,
                                         args.max_tokens)
                texts = [got["answers"][p["id"]] for p in prompts]
                row["paraphrased"] = {
                    "rouge_l_gold": statistics.mean(rouge_l(t, p["gloss"]) for t, p in zip(texts, prompts)),
                    "rouge_l_to_marked": statistics.mean(rouge_l(t, m) for t, m in zip(texts, marked)),
                    "single": single_text_rates(texts, chat.encode, keys), "texts": texts,
                    "pooled_to_1e-6": pooled_to_significance(texts, chat.encode, keys)}
                print(set_name, "paraphrased", json.dumps({k: v for k, v in row["paraphrased"].items() if k != "texts"}),
                      flush=True)
            row["relative_rouge_l_cost"] = 1 - row["marked"]["rouge_l_gold"] / row["unmarked"]["rouge_l_gold"]
            row["pooled_to_1e-6"] = pooled_to_significance(row["marked"]["texts"], chat.encode, keys)
            row["same_answer"] = sum(a == b for a, b in zip(row["marked"]["texts"], row["unmarked"]["texts"])) / len(prompts)
            results[set_name] = row
    with gzip.open(ROOT / "data/wordnet/definitions.jsonl.gz", "rt") as f:
        glosses = [json.loads(line)["gloss"] for line in f][:args.ordinary]
    results["glosses"] = single_text_rates(glosses, chat.encode, keys)
    print(f"\nteacher-lm through the API, greedy, fp32, delta {args.delta}, {args.concurrency} callers\n")
    print("| set | ROUGE-L vs gold unmarked | marked | relative cost | same answer | marked named at p<1e-6 (p<0.01), "
          "one answer | answers pooled to p<1e-6 | unmarked at p<0.01 (p<1e-6), one answer | tokens/s unmarked | marked |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for set_name in ("nouns", "validation"):
        r = results[set_name]
        u, m = r["unmarked"], r["marked"]
        print(f"| {set_name} ({len(m['texts'])}) | {u['rouge_l_gold']:.3f} | {m['rouge_l_gold']:.3f} | "
              f"{100 * r['relative_rouge_l_cost']:+.1f}% | {r['same_answer']:.2f} | {m['single']['below_1e-6']:.2f} "
              f"({m['single']['below_0.01']:.2f}) | {r['pooled_to_1e-6']} | {u['single']['below_0.01']:.3f} "
              f"({u['single']['below_1e-6']:.3f}) | {u['tokens_per_s']:.1f} | {m['tokens_per_s']:.1f} |")
    if not args.no_paraphrase:
        print("\n| set | paraphrased: named at p<1e-6 (p<0.01), one answer | answers pooled to p<1e-6 | "
              "ROUGE-L vs the marked answer | vs gold |")
        print("|---|---|---|---|---|")
        for set_name in ("nouns", "validation"):
            q = results[set_name]["paraphrased"]
            print(f"| {set_name} | {q['single']['below_1e-6']:.2f} ({q['single']['below_0.01']:.2f}) | "
                  f"{q['pooled_to_1e-6']} | {q['rouge_l_to_marked']:.3f} | {q['rouge_l_gold']:.3f} |")
    g = results["glosses"]
    print(f"\nordinary texts (WordNet glosses): {g['texts']}, below p=0.01: {g['below_0.01']:.4f}, "
          f"below 1e-6: {g['below_1e-6']:.4f}")
    print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk not in ("marked", "unmarked", "paraphrased")}
                          if "marked" in v else v) for k, v in results.items()}))


if __name__ == "__main__":
    asyncio.run(main())
