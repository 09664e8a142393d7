"""The watermark's cost on quality, over the answers the radioactivity benchmark already paid for.

benchmarks.radioactivity asks teacher-lm, through our OpenAI-compatible API, for a definition of each
of its nouns twice: through the thief's ordinary key (watermarked, the service's default strength)
and through the allow-listed key (unmarked), greedy, 64 tokens at most. The teacher service cached
every answer in the stack's S3 (the response cache), so the same prompts' answers can be compared
pair by pair without asking again: ROUGE-L against WordNet's gloss, unmarked against marked, with
a paired bootstrap interval on the relative cost (the issue's bound: at most 2%).

Needs the radioactivity benchmark's stack (.cache/radioactivity), with a thief and a clean student's
job run at `--nouns`; it starts the stack's broker and S3 server if they are not running.

    .venv/bin/python -m benchmarks.watermark_cost --nouns 5000      # about a minute
    .venv/bin/python -m benchmarks.watermark_cost --home .cache/radioactivity-delta-0.7 --unmarked-home .cache/radioactivity
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import yaml

from benchmarks.llm_distillation import persistent_stack, ratio_interval
from benchmarks.radioactivity import HOME


def cached_answers(store, job_file, prompts: list[dict]) -> dict[str, dict]:
    """prompt id -> the cached Completion (as JSON) of the job's teacher, for the prompts it answered."""
    from services.teacher.adapters import load_adapter
    from services.teacher.querying import ResponseCache
    from shared.events import TeacherSpec

    spec = TeacherSpec.model_validate(yaml.safe_load(job_file.read_text())["teacher"])
    identity = load_adapter(spec, "unused: nothing is asked", None).cache_identity()
    found = {}
    for prompt in prompts:
        body = store.get_optional(ResponseCache.key(identity, prompt["text"]))
        completion = json.loads(body)["answer"].get("completion") if body else None
        if completion:
            found[prompt["id"]] = completion
    return found


def answers_in(home: Path, job: str, prompts: list[dict]) -> dict[str, dict]:
    """A job's cached answers in one run's stack (its broker and S3 server started if not running)."""
    from shared.store import ArtifactStore

    stack = persistent_stack(home)
    started = not {"tansu", "weed"} <= set(stack.running())
    stack.start_infra()
    try:
        return cached_answers(ArtifactStore(stack.config.s3()), home / job, prompts)
    finally:
        if started:
            stack.down()


def main() -> None:
    from shared.textmetrics import rouge_l

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nouns", type=int, default=5000, help="the radioactivity run's prompts")
    parser.add_argument("--home", type=Path, default=HOME, help="the radioactivity run's stack (--home there)")
    parser.add_argument("--unmarked-home", type=Path,
                        help="another run's stack for the unmarked answers, which do not depend on the strength "
                             "(default: --home)")
    parser.add_argument("--marked-job", default="radioactivity-thief.yaml")
    parser.add_argument("--unmarked-job", default="radioactivity-clean-0.yaml")
    args = parser.parse_args()

    prompts = [json.loads(line) for line in (args.home / f"nouns-{args.nouns}.jsonl").read_text().splitlines()]
    marked = answers_in(args.home, args.marked_job, prompts)
    unmarked = answers_in(args.unmarked_home or args.home, args.unmarked_job, prompts)
    delta = json.loads((args.home / "watermark.json").read_text())["delta"] if (
        args.home / "watermark.json").exists() else "the service's default"
    both = [p for p in prompts if p["id"] in marked and p["id"] in unmarked]
    if not both:
        raise SystemExit(f"no prompt of nouns-{args.nouns} has both answers cached: run benchmarks.radioactivity")

    def rows(answers: dict[str, dict]) -> tuple[list[float], float, float]:
        scores = [rouge_l(answers[p["id"]]["text"], p["gloss"]) for p in both]
        tokens = statistics.mean(len(answers[p["id"]]["tokens"]) for p in both)
        truncated = sum(answers[p["id"]]["finish_reason"] == "length" for p in both) / len(both)
        return scores, tokens, truncated

    (plain, plain_tokens, plain_cut), (mark, mark_tokens, mark_cut) = rows(unmarked), rows(marked)
    base = statistics.mean(plain)
    differences = [u - m for u, m in zip(plain, mark)]
    # The cost is 1 - marked/unmarked: the interval of that ratio, the nouns resampled in pairs.
    kept_low, kept_high = ratio_interval(mark, plain)
    low, high = 1 - kept_high, 1 - kept_low
    same = sum(marked[p["id"]]["text"] == unmarked[p["id"]]["text"] for p in both)
    to_each_other = statistics.mean(rouge_l(marked[p["id"]]["text"], unmarked[p["id"]]["text"]) for p in both)
    print(f"\n{len(both):,} nouns answered through both keys (greedy, {args.nouns:,} asked, watermark delta {delta}); "
          f"the marked answer equals the unmarked one for {same:,} ({same / len(both):.1%})\n")
    print("| answers | ROUGE-L vs gold | relative cost (95% interval) | tokens (mean) | cut at max_tokens |")
    print("|---|---|---|---|---|")
    print(f"| unmarked (allow-listed key) | {base:.4f} | - | {plain_tokens:.1f} | {plain_cut:.1%} |")
    print(f"| marked (ordinary key) | {statistics.mean(mark):.4f} | {sum(differences) / len(differences) / base:.2%} "
          f"({low:.2%} to {high:.2%}) | {mark_tokens:.1f} | {mark_cut:.1%} |")
    print(f"\nROUGE-L of each marked answer against its unmarked one: {to_each_other:.3f}")


if __name__ == "__main__":
    main()
