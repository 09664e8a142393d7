"""The whole generative path, measured the way users get it: teacher-lm's answers through our
OpenAI-compatible API -> the curator (split by lemma) -> the trainer (chat students) -> each model
served beside the teacher and asked through the API.

The task: "define a word in one sentence" over WordNet's common words (data/wordnet/definitions),
gold answer the most frequent sense's gloss. Two evaluation sets, reported apart:
- held-out: nouns, phrased as in training, whose lemmas the curator kept out of train (its test split);
- validation: verbs and adjectives, phrased two other ways, lemmas not among the nouns (never tuned on).

Students, each trained by the trainer service from the same cached teacher answers (a re-run pays
nothing: the stack's S3 and so the teacher's response cache live in .cache/llm-distillation/):
the initialised student (the teacher's layers sliced, untrained), gold answers only, sequence-level
KD, and sequence-level + top-k KD. Every model answers greedily through the API at `--concurrency`
callers; speed is output tokens/s over those answers, and at one caller on 32 prompts, in this run.

    .venv/bin/python -m benchmarks.llm_distillation                       # about 1.5 hours on 2 CPUs
    .venv/bin/python -m benchmarks.llm_distillation --nouns 300 --heldout-fraction 0.4 --validation 60 --epochs 1
    .venv/bin/python -m benchmarks.llm_distillation --home .cache/radioactivity ...   # its 5,000 answers, unmarked
    .venv/bin/python -m benchmarks.llm_distillation --home .cache/radioactivity --evaluate student-lm-gold@1 ...
        # no training: registered students asked again beside the teacher (one run, one machine state)
    .venv/bin/python -m benchmarks.llm_distillation --extra-nouns 2000 --students sequence+topk+gold --evaluate ...
        # more training answers: common nouns of Debian's wordnet-base that the shipped sample left out
        # (only those whose lemma the curator's split puts in train, so the held-out nouns stay the
        # same); the registered students of --evaluate asked in the same run

Debian's wordnet-base is read from --wordnet-dir: `apt-get install wordnet-base`, or unpack the package
without root (`dpkg-deb -x wordnet-base_*.deb DIR`, then --wordnet-dir DIR/usr/share/wordnet).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import json
import os
import statistics
import time
from pathlib import Path

from cli.served import chat_answers
from cli.stack import EmbeddedStack, StackConfig
from shared.textmetrics import rouge_l

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".cache" / "llm-distillation"
MAIN_PHRASING = "Define the word '{lemma}' in one sentence."
VALIDATION_PHRASINGS = ["What does the {pos} '{lemma}' mean? Answer in one sentence.",
                        "In one sentence, give the meaning of the {pos} '{lemma}'."]
SERVICES = ("inference", "teacher", "curator", "trainer")
VAL_FRACTION = 0.05  # the curator's validation split (the trainer's best epoch), of the main prompts by lemma


def shipped_definitions() -> list[dict]:
    with gzip.open(ROOT / "data/wordnet/definitions.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def main_prompt(row: dict) -> dict:
    return {"id": row["id"], "text": MAIN_PHRASING.format(**row), "lemma": row["lemma"], "gloss": row["gloss"]}


def definition_sets(nouns: int, validation: int) -> tuple[list[dict], list[dict]]:
    """(main prompts: nouns; validation prompts: verbs and adjectives whose lemma is no noun's)."""
    rows = shipped_definitions()
    main = [r for r in rows if r["pos"] == "noun"][:nouns]
    lemmas = {r["lemma"] for r in rows if r["pos"] == "noun"}
    others = [r for r in rows if r["pos"] != "noun" and r["lemma"] not in lemmas][:validation]
    validation_prompts = [{"id": r["id"], "text": VALIDATION_PHRASINGS[i % 2].format(**r), "lemma": r["lemma"],
                           "gloss": r["gloss"]} for i, r in enumerate(others)]
    return [main_prompt(r) for r in main], validation_prompts


def extra_training_nouns(wordnet_dir: Path, count: int, val_fraction: float, test_fraction: float) -> list[dict]:
    """Up to `count` common nouns of Debian's wordnet-base that the shipped sample does not have (no
    lemma of any part of speech in it, so none is a held-out noun's or a validation prompt's), chosen
    the way the sample was (tagged in the semantic concordance, the most frequent sense's gloss), and
    only those the curator's split by lemma puts in train: the held-out nouns stay the same and no
    teacher answer is paid for a prompt that would only be held out. In a stable order (by id hash)."""
    from scripts.make_wordnet_sample import first_sense_definitions
    from services.curator.curation import split_of

    if not (wordnet_dir / "index.noun").exists():
        raise SystemExit(f"no WordNet database in {wordnet_dir}: apt-get install wordnet-base, or unpack the "
                         "package (dpkg-deb -x wordnet-base_*.deb DIR) and pass --wordnet-dir DIR/usr/share/wordnet")
    shipped = {r["lemma"] for r in shipped_definitions()}
    rows = [r for r in first_sense_definitions(wordnet_dir, "noun")
            if r["lemma"] not in shipped and split_of(f"group:{r['lemma']}", val_fraction, test_fraction) == "train"]
    rows.sort(key=lambda r: hashlib.sha256(r["id"].encode()).hexdigest())
    return [main_prompt(r) for r in rows[:count]]


def persistent_stack(home: Path = HOME) -> EmbeddedStack:
    """The same folder and ports on every run, so the S3 data (the teacher's response cache, the
    registry) outlive the run."""
    saved = home / "stack.json"
    if saved.exists():
        config = StackConfig.model_validate_json(saved.read_text())
    else:
        config = StackConfig.on_free_ports(home / "stack")
        home.mkdir(parents=True, exist_ok=True)
        saved.write_text(config.model_dump_json())
    return EmbeddedStack(config)


def job_yaml(name: str, prompts: Path, base_url: str, student: dict, args, api_key_env: str = "TEACHER_API_KEY") -> str:
    student_fields = ", ".join(f"{k}: {v}" for k, v in student.items())
    return (f"name: {name}\nprompts: {{file: {prompts}, label_field: gloss, group_field: lemma}}\n"
            f"teacher: {{kind: openai-generation, url: '{base_url}', model: teacher-lm, max_tokens: {args.max_tokens}, "
            f"api_key_env: {api_key_env}, "
            f"top_logprobs: {args.top_logprobs}, limits: {{max_concurrency: {args.concurrency}}}}}\n"
            f"curation: {{tokenizer_model: teacher-lm, near_duplicate_threshold: null, val_fraction: {VAL_FRACTION}, "
            f"test_fraction: {args.heldout_fraction}}}\n"
            f"student: {{{student_fields}}}\ngate: {{min_agreement: 0.0, min_speedup: 0.0}}\n")


def score(answers: dict[str, str], prompts: list[dict], teacher: dict[str, str] | None) -> tuple[dict, list[float]]:
    """The set's scores, and each prompt's ROUGE-L against gold (for the intervals)."""
    gold = [rouge_l(answers[p["id"]], p["gloss"]) for p in prompts]
    to_teacher = statistics.mean(rouge_l(answers[p["id"]], teacher[p["id"]]) for p in prompts) if teacher else None
    words = statistics.mean(len(answers[p["id"]].split()) for p in prompts)
    return {"rouge_l_gold": statistics.mean(gold), "rouge_l_teacher": to_teacher, "words": words}, gold


def ratio_interval(model: list[float], teacher: list[float], resamples: int = 2000, seed: int = 0) -> list[float]:
    """A 95% paired bootstrap interval of mean(model) / mean(teacher): the prompts resampled together."""
    import numpy as np

    m, t = np.asarray(model), np.asarray(teacher)
    picks = np.random.default_rng(seed).integers(0, len(m), (resamples, len(m)))
    ratios = m[picks].sum(axis=1) / np.maximum(t[picks].sum(axis=1), 1e-12)
    return [float(np.quantile(ratios, 0.025)), float(np.quantile(ratios, 0.975))]


async def main() -> None:
    from cli.__main__ import ensure_service_key
    from cli.jobs import submit_and_follow
    from services.trainer.teacher_lm import ensure_teacher_lm
    from shared.datasets import read_split
    from shared.registry import ModelRegistry
    from shared.store import ArtifactStore

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nouns", type=int, default=5000, help="main prompts (train, val and held-out by lemma)")
    parser.add_argument("--heldout-fraction", type=float, default=0.4, help="of the nouns, by lemma")
    parser.add_argument("--validation", type=int, default=1000, help="verbs and adjectives, phrased otherwise")
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--head-tokens", type=int, default=0,
                        help="trained students get a head of their own over this many tokens (0: the tied head)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--top-logprobs", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--students", nargs="*", help="trained in this run (default: init gold sequence "
                        "sequence+topk; none with --evaluate)")
    parser.add_argument("--extra-nouns", type=int, default=0,
                        help="training prompts besides: common nouns of Debian's wordnet-base not in the shipped "
                             "sample, whose lemma the split puts in train")
    parser.add_argument("--wordnet-dir", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--home", type=Path, default=HOME,
                        help="the persistent stack's folder: another benchmark's (.cache/radioactivity) shares its "
                             "teacher answers, as long as the teacher is asked alike")
    parser.add_argument("--int8", action="store_true", help="students served with int8 weights (quantize: true), "
                        "against teacher-lm-int8: the same precision (the teacher's answers are teacher-lm's)")
    parser.add_argument("--evaluate", nargs="*", metavar="NAME[@VERSION]", default=[],
                        help="these registered students against the teacher (with --int8: int8 copies of them "
                             "against teacher-lm-int8); the held-out nouns are the test split of the students "
                             "trained in this run, or else of the first one's dataset; a version other than the "
                             "promoted one is served as NAME-vVERSION")
    parser.add_argument("--train-only", action="store_true",
                        help="train and register the students, ask nothing: a later --evaluate run measures them "
                             "beside the others (a full table takes longer than one sitting)")
    args = parser.parse_args()
    if args.train_only and args.evaluate:
        parser.error("--train-only asks nothing: --evaluate belongs to a later run")
    if args.students is None:
        args.students = [] if args.evaluate else ["init", "gold", "sequence", "sequence+topk"]
    if args.students and not set(args.students) - {"init"}:
        parser.error("name at least one trained student: the initialised one is sliced from the first's dataset")

    main_prompts, validation_prompts = definition_sets(args.nouns, args.validation)
    extra = extra_training_nouns(args.wordnet_dir, args.extra_nouns, VAL_FRACTION, args.heldout_fraction) \
        if args.extra_nouns else []
    home = args.home
    home.mkdir(parents=True, exist_ok=True)
    prompt_file = home / (f"nouns-{args.nouns}.jsonl" if not extra else f"nouns-{args.nouns}+{len(extra)}.jsonl")
    prompt_file.write_text("".join(json.dumps(p) + "\n" for p in main_prompts + extra))
    teacher_dir = ensure_teacher_lm(ROOT / ".cache")
    stack = persistent_stack(home)
    stack.start_infra()
    os.environ.update(stack.env())
    results: dict[str, dict] = {}
    try:
        store = ArtifactStore(stack.config.s3())
        registry = ModelRegistry(store)
        if not registry.promoted("teacher-lm"):
            registry.promote("teacher-lm", registry.register("teacher-lm", teacher_dir)[0])
        reference, suffix = ("teacher-lm-int8", "-int8") if args.int8 else ("teacher-lm", "")
        if args.int8 and not registry.promoted(reference):
            from services.trainer.teacher_lm import ensure_teacher_lm_int8

            registry.promote(reference, registry.register(reference, ensure_teacher_lm_int8(ROOT / ".cache"))[0])
        key = ensure_service_key(stack)
        stack.start_services(extra_env={"TEACHER_API_KEY": key, "INFERENCE_MODEL_CACHE": str(home / "models")},
                             names=SERVICES)
        stack.wait_services(names=SERVICES, timeout_s=600)
        base_url = f"http://127.0.0.1:{stack.config.inference_http_port}/v1"
        common = {"kind": "causal-lm", "layers": args.layers, "epochs": args.epochs, "batch_size": 8,
                  "learning_rate": args.learning_rate, "eval_prompts": 32, "max_new_tokens": args.max_tokens,
                  "quantize": args.int8, "head_tokens": args.head_tokens}
        teacher_answers: dict[str, dict[str, str]] = {}
        teacher_scores: dict[str, list[float]] = {}
        heldout: list[dict] = []

        async def evaluate(model: str) -> None:
            """Both sets through the API at `--concurrency` callers, then speed at one; each model right
            after it is trained, so a run cut short keeps the rows it finished (and their answers)."""
            row: dict = {}
            for set_name, prompts in (("held-out", heldout), ("validation", validation_prompts)):
                got = await chat_answers(base_url, key, model, prompts, args.concurrency, args.max_tokens, wait_s=300)
                scores, per_prompt = score(got["answers"], prompts, teacher_answers.get(set_name))
                if model == reference:
                    teacher_answers[set_name], teacher_scores[set_name] = got["answers"], per_prompt
                else:
                    scores["x_teacher_95"] = ratio_interval(per_prompt, teacher_scores[set_name])
                row[set_name] = {**scores, "tokens_per_s": got["tokens_per_s"], "ttft_p50_ms": got["ttft_p50_ms"]}
                (home / f"answers-{model}-{set_name}.json").write_text(json.dumps(got["answers"]))
            one = await chat_answers(base_url, key, model, heldout[:32], 1, args.max_tokens)
            row["tokens_per_s_c1"] = one["tokens_per_s"]
            results[model] = row
            print(model, json.dumps(row), flush=True)

        def held_out(dataset_uri: str) -> list[dict]:
            heldout_ids = {r["prompt_id"] for r in read_split(store, dataset_uri, "test").to_pylist()}
            return [p for p in main_prompts if p["id"] in heldout_ids]

        for student in [s for s in args.students if s != "init"]:
            name = f"student-lm-{student.replace('+', '-')}{suffix}"
            job = home / f"{name}.yaml"
            job.write_text(job_yaml(f"bench-{name}", prompt_file, base_url, {"name": name, "lm_loss": student, **common},
                                    args))
            started = time.perf_counter()
            _, follower = await submit_and_follow(job, timeout_s=6 * 3600, quiet=True)
            if follower.failed or follower.trained is None:
                raise RuntimeError(f"{name}: {[s.message for s in follower.statuses][-3:]}")
            teacher_status = follower.last("teacher")
            print(f"{name} v{follower.trained.version}: job done in {time.perf_counter() - started:.0f} s (teacher: "
                  f"{teacher_status.counts if teacher_status else '?'})", flush=True)
            if args.train_only:
                continue
            if reference not in results:  # the first job's dataset: every job curates the same answers alike
                dataset_uri = registry.card(name, follower.trained.version)["lineage"]["dataset"]
                heldout = held_out(dataset_uri)
                await evaluate(reference)
                if "init" in args.students:
                    await evaluate(initialised_student(store, registry, dataset_uri, teacher_dir, suffix, args))
            await evaluate(name)
        if args.evaluate:  # after the students trained here, so that the teacher is asked once, beside them
            if not heldout:
                first, _, version = args.evaluate[0].partition("@")
                card = registry.card(first, version or registry.promoted(first) or "")
                heldout = held_out(card["lineage"]["dataset"])
                await evaluate(reference)
            for spec in args.evaluate:
                await evaluate(served_version(registry, spec, home, args.int8))
    finally:
        for name in SERVICES:
            stack.stop(name)
        stack.down()
    if results:
        report(results, reference, len(heldout), len(validation_prompts), args)


def served_version(registry, spec: str, home: Path, int8: bool = False) -> str:
    """The name a registered student is asked under: NAME for its promoted version, NAME-vVERSION
    (registered and promoted as a copy) for another, since one name serves one version; with `int8`,
    a copy of it with int8 weights (as the trainer's `quantize: true` makes), NAME[-vVERSION]-int8."""
    from services.trainer.teacher_lm import quantize_weights_int8

    name, _, version = spec.partition("@")
    promoted = registry.promoted(name)
    version = version or promoted
    copy = (name if version == promoted else f"{name}-v{version}") + ("-int8" if int8 else "")
    if copy == name or registry.promoted(copy):
        return copy
    evaluated = home / "evaluated"
    evaluated.mkdir(parents=True, exist_ok=True)
    folder = registry.download(name, version, evaluated / (f"{copy}-fp32" if int8 else copy))
    if int8:
        quantize_weights_int8(folder, evaluated / copy, copy)
        folder = evaluated / copy
    registry.promote(copy, registry.register(copy, folder)[0])
    return copy


def initialised_student(store, registry, dataset_uri: str, teacher_dir: Path, suffix: str, args) -> str:
    """The baseline before training: the teacher's layers sliced (and the trained students' head, from
    the same dataset), registered and promoted; its name."""
    from services.trainer.lm_distillation import slice_student, spaced_layers
    from services.trainer.student_lm import examples_from_rows, student_head, write_student_lm
    from services.trainer.teacher_lm import teacher_causal_lm
    from shared.datasets import read_split
    from shared.generation import ChatFormat

    name, folder = f"student-lm-init{suffix}", args.home / "student-lm-init"
    teacher = teacher_causal_lm(ROOT / ".cache" / "trainer")
    head = None
    if args.head_tokens:
        chat = ChatFormat(teacher_dir)
        train, val = (examples_from_rows(read_split(store, dataset_uri, split).to_pylist(), chat)[0]
                      for split in ("train", "val"))
        head = student_head(chat, train, val, args.head_tokens)
    write_student_lm(slice_student(teacher, spaced_layers(30, args.layers), head).eval(), teacher_dir, folder, name)
    if args.int8:
        from services.trainer.teacher_lm import quantize_weights_int8

        quantize_weights_int8(folder, folder.with_name(name), name)
        folder = folder.with_name(name)
    registry.promote(name, registry.register(name, folder)[0])
    return name


def report(results: dict[str, dict], reference: str, heldout: int, validation: int, args) -> None:
    teacher = results[reference]
    students = " and ".join(([f"{args.layers}-layer students"] if args.students else [])
                            + (["registered students"] if args.evaluate else []))
    print(f"\n{reference} and {students}, {'int8 weights' if args.int8 else 'fp32'}, greedy, "
          f"through the API at {args.concurrency} "
          f"callers; held-out: {heldout} nouns (lemmas not in train), validation: {validation} verbs and adjectives\n")
    print("| model | ROUGE-L vs gold, held-out (x teacher, 95% interval) | validation (x teacher, 95% interval) | "
          f"ROUGE-L vs teacher, held-out | words an answer | tokens/s at {args.concurrency} (x teacher) "
          "| tokens/s at 1 (x teacher) | TTFT p50 |")
    print("|---|---|---|---|---|---|---|---|")

    def against_teacher(s: dict, t: dict) -> str:
        interval = "-".join(f"{x:.2f}" for x in s["x_teacher_95"]) if "x_teacher_95" in s else ""
        return f"{s['rouge_l_gold']:.3f} ({s['rouge_l_gold'] / t['rouge_l_gold']:.2f}{', ' + interval if interval else ''})"

    for model, row in results.items():
        h, v = row["held-out"], row["validation"]
        th, tv = teacher["held-out"], teacher["validation"]
        to_teacher = f"{h['rouge_l_teacher']:.3f}" if h["rouge_l_teacher"] is not None else "-"
        print(f"| {model} | {against_teacher(h, th)} | {against_teacher(v, tv)} | {to_teacher} | {h['words']:.1f} | "
              f"{h['tokens_per_s']:.1f} ({h['tokens_per_s'] / th['tokens_per_s']:.2f}) | "
              f"{row['tokens_per_s_c1']:.1f} ({row['tokens_per_s_c1'] / teacher['tokens_per_s_c1']:.2f}) | "
              f"{h['ttft_p50_ms']:.0f} ms |")
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
