"""Radioactivity, measured the way it would be used: someone distils teacher-lm through an ordinary
(not allow-listed) key of our API, whose answers carry our watermark, with the platform's own
trainer; `distillery verify` then asks the student prompts of our choosing through its
OpenAI-compatible endpoint and tests its answers against our green lists (each distinct
(context, token) pair once). Independent models are asked the same way and must not be named.

Models, each trained by the trainer service from the teacher service's answers (cached, so a
re-run pays nothing) and served by the inference service:
- thief: sequence-level + top-k KD on teacher-lm's answers to the thief's ordinary key (marked);
- clean-<seed>: the same loss on the allow-listed key's answers (unmarked): a distilled model
  that never saw our watermark;
- gold-<seed>: the gold glosses alone;
- base: teacher-lm itself, asked through the allow-listed key (the base model, unmarked).
- thief-<share>: the thief's loss on a dataset in which only a share of the answers are marked
  (`--shares`, e.g. 0.25 0.05): per prompt, the marked answer or else the unmarked one, so the rest
  is the same teacher's writing without our watermark, the hardest case to tell apart. The mixture
  is written as a dataset of its own and trained on by the trainer service (`dataset.ready`).
- thief-paraphrased (`--paraphrased`): the thief's loss on its answers after another model rewrote
  each of them ("Rewrite this sentence in your own words..."), the known attack on a watermark. The
  rewriter is teacher-lm through the allow-listed key (unmarked), the only other chat model here,
  asked with its top-20 logprobs so that only the text changes; a light rewrite, not a strong one.
Every suspect is asked through the allow-listed key, so its answers are its own, not re-marked
by our service. The issue's goal: the thief at p < 1e-6 within 500 generations, the independent
models all at p > 0.01.

With `--read N`, every suspect is also read (`distillery verify --onnx FOLDER --read FILE`, its ONNX
build as registered): fed N answers of our API and scored on its top `--read-top-k` tokens at every
position (shared.text_watermark.score_reading). Two sets of answers, the same for every suspect:
- ours: teacher-lm's answers to an ordinary key for N prompts of our choosing, none a student's;
- the thief's: N of the answers its key got, as an operator who kept them would have them.
`--trained` skips training and questions the latest registered version of each student; `--only`
names the suspects to train and question. A stack (`--home`) keeps one watermark key and one
strength (`--delta`), and caches every answer it was asked for, so a re-run pays nothing.

    .venv/bin/python -m benchmarks.radioactivity                     # about 35 minutes on 2 CPUs
    .venv/bin/python -m benchmarks.radioactivity --gold-seeds 0 1 2 3 --clean-seeds 0 1 2 3 4   # the 10
    .venv/bin/python -m benchmarks.radioactivity --clean-seeds 0 --gold-seeds 0 --only clean-0 gold-0   # two of them
    .venv/bin/python -m benchmarks.radioactivity --trained --paraphrased --only thief   # a registered thief's data rewritten
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import time
from pathlib import Path

from benchmarks.llm_distillation import definition_sets, job_yaml, persistent_stack

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".cache" / "radioactivity"
SERVICES = ("inference", "teacher", "curator", "trainer")
THIEF_KEY_ENV = "THIEF_API_KEY"


def write_dataset(store, base: dict, tables: dict, job_id: str, **about):
    """`tables` (split -> pyarrow table) written as a dataset of its own, with `base`'s manifest
    (another dataset's) otherwise: its DatasetReady, for the trainer service alone."""
    import io

    import pyarrow.parquet as pq

    from shared.events import DatasetReady

    prefix, files, counts = f"datasets/{job_id}-v1", {}, {}
    for split, table in tables.items():
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        name = f"{split}-00000-of-00001.parquet"
        store.put_bytes(f"{prefix}/{name}", sink.getvalue(), "application/vnd.apache.parquet")
        files[split] = [{"name": name, "bytes": sink.tell(), "rows": table.num_rows}]
        counts[split] = table.num_rows
    store.put_json(f"{prefix}/manifest.json", {**base, "dataset_id": f"{job_id}-v1", "job_id": job_id, "files": files,
                                               "counts": counts, **about})
    return DatasetReady(job_id=job_id, dataset_id=f"{job_id}-v1", uri=store.uri(prefix),
                        manifest_uri=store.uri(f"{prefix}/manifest.json"), counts=counts, dropped={}, classes=[])


def mixed_dataset(store, marked_uri: str, clean_uri: str, share: float, job_id: str):
    """A dataset in which a `share` of the prompts (chosen by a hash of their id) keep their marked
    answer and the rest their unmarked one (or whichever the curator kept); its DatasetReady."""
    import hashlib

    import pyarrow as pa

    from shared.datasets import read_manifest, read_split

    def marked_wanted(prompt_id: str) -> bool:
        return int(hashlib.sha256(f"share:{prompt_id}".encode()).hexdigest()[:8], 16) / 16 ** 8 < share

    tables, marked_rows = {}, 0
    for split in ("train", "val", "test"):
        marked, clean = read_split(store, marked_uri, split), read_split(store, clean_uri, split)
        marked_ids, clean_ids = set(marked.column("prompt_id").to_pylist()), set(clean.column("prompt_id").to_pylist())
        take_marked = {i for i in marked_ids if marked_wanted(i) or i not in clean_ids}
        tables[split] = pa.concat_tables([
            marked.filter(pa.array([i in take_marked for i in marked.column("prompt_id").to_pylist()])),
            clean.filter(pa.array([i not in take_marked for i in clean.column("prompt_id").to_pylist()]))])
        marked_rows += len(take_marked)
    event = write_dataset(store, read_manifest(store, clean_uri), tables, job_id, mixed={
        "share": share, "marked_rows": marked_rows, "marked_from": marked_uri, "rest_from": clean_uri})
    return event, marked_rows / max(1, sum(event.counts.values()))


PARAPHRASE = "Rewrite this sentence in your own words, keeping its meaning: {}"


async def paraphrased_dataset(store, marked_uri: str, job_id: str, base_url: str, key: str, cache: Path,
                              vocabulary: dict[bytes, int], max_tokens: int, concurrency: int):
    """The thief's dataset with every training and validation answer rewritten by another model before
    it is learnt from: teacher-lm through the allow-listed key (unmarked; the only other chat model
    here), asked with its top-20 logprobs, so that the thief's loss is unchanged and only the text is
    the rewriter's. Rewrites cut at `max_tokens` are dropped, as the curator drops truncated answers.
    The rewrites are kept in `cache` (a re-run pays nothing); the test split is left as it was (it is
    only evaluated on). Its DatasetReady, and the share of answers rewritten."""
    import pyarrow as pa
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_delay, wait_exponential

    from services.curator.curation import GENERATIVE_COLUMNS, completion_values
    from services.teacher.adapters import Answer, TeacherError
    from services.teacher.adapters.openai_generation import Adapter
    from shared.datasets import read_manifest, read_split
    from shared.events import Completion, TeacherSpec

    def load() -> dict[str, dict]:
        return json.loads(cache.read_text()) if cache.exists() else {}

    def save() -> None:
        cache.write_text(json.dumps(done))

    tables = {split: read_split(store, marked_uri, split) for split in ("train", "val", "test")}
    done = await asyncio.to_thread(load)
    todo = [r for split in ("train", "val") for r in tables[split].select(["prompt_id", "completion"]).to_pylist()
            if r["prompt_id"] not in done]
    adapter = Adapter(TeacherSpec(kind="openai-generation", url=base_url, model="teacher-lm", max_tokens=max_tokens,
                                  top_logprobs=20, limits={"max_concurrency": concurrency}), key, None)
    queue = iter(todo)

    # As the teacher service does: what the API says is worth retrying (a model still loading, a 429) is.
    retrying = AsyncRetrying(retry=retry_if_exception(lambda e: isinstance(e, TeacherError) and e.retryable),
                             wait=wait_exponential(max=30), stop=stop_after_delay(600), reraise=True)

    async def rewriter() -> None:
        for row in queue:
            answers: list[Answer] = await retrying(adapter.request, [PARAPHRASE.format(row["completion"])])
            answer = answers[0]
            assert answer.completion is not None  # the adapter raises where it has none
            done[row["prompt_id"]] = answer.completion
            if len(done) % 250 == 0:
                await asyncio.to_thread(save)

    try:
        await asyncio.gather(*(rewriter() for _ in range(concurrency)))
    finally:
        await asyncio.to_thread(save)
        await adapter.close()
    rewritten = 0
    for split in ("train", "val"):
        rows = []
        for row in tables[split].to_pylist():
            completion = Completion.model_validate(done[row["prompt_id"]])
            if completion.finish_reason == "length":
                continue
            rows.append({**row, **completion_values(completion, vocabulary)})
        rewritten += len(rows)
        tables[split] = pa.Table.from_pylist(rows, schema=tables[split].schema)
    event = write_dataset(store, read_manifest(store, marked_uri), tables, job_id, paraphrased={
        "from": marked_uri, "rewriter": "teacher-lm, allow-listed key", "instruction": PARAPHRASE,
        "columns": list(GENERATIVE_COLUMNS)})
    return event, rewritten


def watermark_strength(home: Path, delta: float | None) -> dict[str, str]:
    """The inference service's environment for the watermark's strength, the same on every run of one
    stack: its response cache keeps the answers marked at the strength they were asked at."""
    from services.inference.settings import InferenceSettings

    default = InferenceSettings.model_fields["watermark_text_delta"].default
    saved = home / "watermark.json"
    # A stack from before the strength was recorded ran at the default.
    before = json.loads(saved.read_text())["delta"] if saved.exists() else (
        default if (home / "stack.json").exists() else None)
    if delta is not None and before is not None and delta != before:
        raise SystemExit(f"{home} holds answers marked at delta {before}: give another --home for {delta}")
    delta = next(d for d in (delta, before, default) if d is not None)
    saved.write_text(json.dumps({"delta": delta}))
    return {"INFERENCE_WATERMARK_TEXT_DELTA": str(delta)}


async def main() -> None:
    from cli.__main__ import ensure_service_key
    from cli.jobs import follow_job, submit_and_follow
    from cli.served import chat_answers
    from cli.verify import OpenAISuspect, probe_prompts, verify_generative
    from services.trainer.teacher_lm import ensure_teacher_lm
    from shared.datasets import load_job_spec, read_manifest
    from shared.events import DistillJob, new_id
    from shared.generation import ChatFormat
    from shared.keys import KeyStore
    from shared.registry import ModelRegistry
    from shared.store import ArtifactStore
    from shared.tokens import vocabulary_by_bytes
    from shared.watermark import parse_keys

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nouns", type=int, default=2000, help="the thief's prompts (and every student's)")
    parser.add_argument("--heldout-fraction", type=float, default=0.2)
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--head-tokens", type=int, default=8192)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--probes", type=int, default=500, help="generations `verify` asks each suspect for (0: "
                                                                 "none, only --read)")
    parser.add_argument("--gold-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--clean-seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--shares", type=float, nargs="*", default=[],
                        help="thieves whose data is only this share marked (the rest: unmarked answers)")
    parser.add_argument("--paraphrased", action="store_true",
                        help="a thief whose marked answers were rewritten by another model before it learnt from them")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--top-k", type=int, default=20,
                        help="score each suspect's top k tokens (its top_logprobs) at every position too; 0: "
                             "the tokens it wrote alone")
    parser.add_argument("--read", type=int, default=0, help="answers of ours each suspect reads (0: none)")
    parser.add_argument("--read-top-k", type=int, default=5)
    parser.add_argument("--trained", action="store_true",
                        help="no training: the latest registered students (--shares trains the thieves not yet "
                             "registered from this thief's answers, on the registered thief's and clean student's "
                             "datasets)")
    parser.add_argument("--home", type=Path, default=HOME, help="the persistent stack's folder (its response cache, "
                                                                    "registry and watermark key)")
    parser.add_argument("--delta", type=float, help="the watermark's strength (INFERENCE_WATERMARK_TEXT_DELTA; the "
                                                    "service's default unless given); fixed for a --home")
    parser.add_argument("--only", nargs="*", metavar="SUSPECT",
                        help="question (and train) only these, in this order: base, thief, clean-<seed>, gold-<seed>")
    parser.add_argument("--question", nargs="*", metavar="SUSPECT",
                        help="of those, question and read only these (base, thief, thief-25pct, thief-paraphrased, "
                             "...): the others' datasets are used, their verdicts not asked again")
    args = parser.parse_args()
    # The fields job_yaml reads: the answers as the distillation benchmark asks for them.
    args.top_logprobs = 20

    main_prompts, _ = definition_sets(args.nouns, 0)
    home = args.home
    home.mkdir(parents=True, exist_ok=True)
    strength = watermark_strength(home, args.delta)
    prompt_file = home / f"nouns-{args.nouns}.jsonl"
    prompt_file.write_text("".join(json.dumps(p) + "\n" for p in main_prompts))
    teacher_dir = ensure_teacher_lm(ROOT / ".cache")
    chat = ChatFormat(teacher_dir)
    stack = persistent_stack(home)
    stack.start_infra()
    os.environ.update(stack.env())
    keys = parse_keys(stack.env()["WATERMARK_KEYS"])
    vocabulary = vocabulary_by_bytes(chat.tokenizer)
    rows: list[dict] = []
    readings: list[dict] = []
    try:
        store = ArtifactStore(stack.config.s3())
        registry = ModelRegistry(store)
        if not registry.promoted("teacher-lm"):
            registry.promote("teacher-lm", registry.register("teacher-lm", teacher_dir)[0])
        ours = ensure_service_key(stack)
        thief = KeyStore(store).create("thief")
        stack.start_services(extra_env={"TEACHER_API_KEY": ours, THIEF_KEY_ENV: thief, **strength,
                                        "INFERENCE_MODEL_CACHE": str(home / "models")}, names=SERVICES)
        stack.wait_services(names=SERVICES, timeout_s=600)
        base_url = f"http://127.0.0.1:{stack.config.inference_http_port}/v1"
        probes = probe_prompts(args.probes)
        common = {"kind": "causal-lm", "layers": args.layers, "epochs": args.epochs, "batch_size": 8,
                  "learning_rate": 3e-4, "eval_prompts": 16, "max_new_tokens": args.max_tokens,
                  "head_tokens": args.head_tokens}

        def questioned(name: str) -> bool:
            label = "base" if name == "teacher-lm" else name.removeprefix("radioactivity-")
            return args.question is None or label in args.question

        async def verdict(name: str, trained_on: str) -> None:
            """`distillery verify --openai` on one suspect, in process: its answers to our probes tested."""
            if not args.probes or not questioned(name):
                return
            # A student just promoted: until the inference service has loaded it, it is not served.
            await chat_answers(base_url, ours, name, [{"id": "0", "text": probes[0]}], 1, 8, wait_s=300)
            started = time.perf_counter()
            suspect = OpenAISuspect(base_url, name, ours, args.max_tokens, args.concurrency)
            result, _ = await verify_generative(suspect, probes, chat.encode, keys, tokenizer="teacher-lm",
                                                top_k=args.top_k, vocabulary=vocabulary)
            best = min(result.tests, key=lambda t: t.log10_p_value)
            # The same answers scored on the tokens the suspect wrote alone (the test without its logits).
            alone = min(result.generated_only or result.tests, key=lambda t: t.log10_p_value)
            row = {"model": name, "trained_on": trained_on, "queries": len(probes), "verdict": result.verdict,
                   "log10_p": round(result.log10_p_value, 2), "scored": best.scored,
                   "green_share": best.green / max(1, best.scored), "z": round(best.z, 2),
                   "written_log10_p": round(min(0.0, alone.log10_p_value + math.log10(len(keys))), 2),
                   "written_scored": alone.scored, "written_green_share": alone.green / max(1, alone.scored),
                   "seconds": round(time.perf_counter() - started, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)

        students = [("thief", "sequence+topk", 0, THIEF_KEY_ENV, "teacher-lm's answers to an ordinary key (marked)")]
        students += [(f"clean-{s}", "sequence+topk", s, "TEACHER_API_KEY",
                      "teacher-lm's answers to the allow-listed key (unmarked)") for s in args.clean_seeds]
        students += [(f"gold-{s}", "gold", s, "TEACHER_API_KEY", "gold glosses only") for s in args.gold_seeds]
        if args.only is not None:
            # Checked before any training: a wrong name would otherwise fail hours in.
            unknown = set(args.only) - {label for label, *_ in students} - {"base"}
            needed = {"thief"} if args.shares or args.read or args.paraphrased else set()
            if unknown or needed - set(args.only) or (args.shares and not any(
                    label.startswith("clean-") for label in args.only)):
                raise SystemExit(f"--only: unknown {sorted(unknown)}; --read and --paraphrased need thief, "
                                 "--shares thief and a clean-<seed>")
            students = sorted((s for s in students if s[0] in args.only), key=lambda s: args.only.index(s[0]))
        datasets: dict[str, tuple[str, DistillJob | None]] = {}  # label -> (dataset uri, job)

        def thief_variant(thief_job: DistillJob, name: str) -> DistillJob:
            """The thief's job under another student's name, stored for the trainer: its recipe, other data."""
            job = DistillJob.model_validate({**thief_job.model_dump(), "job_id": new_id("job"), "name": f"bench-{name}",
                                             "student": {**thief_job.student.model_dump(), "name": name}})
            store.put_json(f"jobs/{job.job_id}/job.json", job.model_dump(mode="json"))
            return job

        def trained(name: str, follower):
            if follower.failed or follower.trained is None:
                raise RuntimeError(f"{name}: {[s.message for s in follower.statuses][-3:]}")
            return follower.trained

        if args.only is None or "base" in args.only:
            await verdict("teacher-lm", "the base model itself, unmarked")
        read: list[tuple[str, str, str]] = [("teacher-lm", registry.promoted("teacher-lm") or "1", "the base model")]
        for label, loss, seed, key_env, trained_on in students:
            name = f"radioactivity-{label}"
            if args.trained:
                version = registry.versions(name)[-1]
                lineage = registry.card(name, version)["lineage"]
                job_spec = load_job_spec(store, lineage["job_id"])
                datasets[label] = (lineage["dataset"], DistillJob.model_validate(job_spec) if job_spec else None)
                await verdict(name, trained_on)
                read.append((name, version, trained_on))
                continue
            job_file = home / f"{name}.yaml"
            job_file.write_text(job_yaml(f"bench-{name}", prompt_file, base_url,
                                         {"name": name, "lm_loss": loss, "seed": seed, **common}, args, key_env))
            started = time.perf_counter()
            job, follower = await submit_and_follow(job_file, timeout_s=6 * 3600, quiet=True)
            version = trained(name, follower).version
            teacher_status = follower.last("teacher")
            print(f"{name}: job done in {time.perf_counter() - started:.0f} s (teacher: "
                  f"{teacher_status.counts if teacher_status else '?'})", flush=True)
            datasets[label] = (registry.card(name, version)["lineage"]["dataset"], job)
            await verdict(name, trained_on)
            read.append((name, version, trained_on))
        clean_label = next((label for label in datasets if label.startswith("clean-")), None)
        if args.shares and clean_label is None:
            raise SystemExit("--shares needs a clean student's dataset: give --clean-seeds")
        for share in args.shares:
            name = f"radioactivity-thief-{round(100 * share)}pct"
            (marked_uri, thief_job), (clean_uri, _) = datasets["thief"], datasets[str(clean_label)]
            versions = registry.versions(name) if args.trained else []
            manifest = read_manifest(store, registry.card(name, versions[-1])["lineage"]["dataset"]) if versions else {}
            # Reused only when mixed from this thief's answers: a smaller run's thief is another model.
            if manifest and manifest["mixed"]["marked_from"] == marked_uri:
                marked_share = manifest["mixed"]["marked_rows"] / max(1, sum(manifest["counts"].values()))
                read.append((name, versions[-1], f"{marked_share:.0%} marked answers"))
                await verdict(name, f"{marked_share:.0%} marked answers, the rest unmarked")
                continue
            if thief_job is None:
                raise SystemExit("--shares: the thief's job is not in the store; train the thief in this run")
            job = thief_variant(thief_job, name)
            event, marked_share = mixed_dataset(store, marked_uri, clean_uri, share, job.job_id)
            follower = await follow_job(job, "dataset.ready", event, timeout_s=6 * 3600, quiet=True)
            read.append((name, trained(name, follower).version, f"{marked_share:.0%} marked answers"))
            await verdict(name, f"{marked_share:.0%} marked answers, the rest unmarked")
        if args.paraphrased:
            name = "radioactivity-thief-paraphrased"
            if args.trained and (versions := registry.versions(name)):
                read.append((name, versions[-1], "its marked answers rewritten by teacher-lm"))
                await verdict(name, "the thief's answers rewritten by another model (teacher-lm, unmarked)")
            else:
                marked_uri, thief_job = datasets["thief"]
                if thief_job is None:
                    raise SystemExit("--paraphrased: the thief's job is not in the store; train the thief in this run")
                job = thief_variant(thief_job, name)
                started = time.perf_counter()
                event, rewritten = await paraphrased_dataset(
                    store, marked_uri, job.job_id, base_url, ours, home / f"paraphrases-{args.nouns}.json", vocabulary,
                    2 * args.max_tokens, args.concurrency)
                print(f"{name}: {rewritten} answers rewritten in {time.perf_counter() - started:.0f} s", flush=True)
                follower = await follow_job(job, "dataset.ready", event, timeout_s=6 * 3600, quiet=True)
                read.append((name, trained(name, follower).version, "its marked answers rewritten by teacher-lm"))
                await verdict(name, "the thief's answers rewritten by another model (teacher-lm, unmarked)")
        if args.read:
            await read_suspects(args, store, registry, base_url, thief, datasets["thief"][0],
                                [r for r in read if questioned(r[0])], keys, vocabulary, readings)
    finally:
        for name in SERVICES:
            stack.stop(name)
        stack.down()
    print(f"\n`distillery verify` on each suspect through the API: {args.probes} generations of our probe prompts, "
          f"greedy, scored with each position's top {args.top_k} tokens; students of {args.layers} layers, "
          f"{args.epochs} epochs, from {args.nouns} nouns\n")
    print("| suspect | trained on | verdict | p | distinct pairs scored | green share (chance 0.25) | z "
          "| written tokens alone: p | pairs | green share |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['trained_on']} | {r['verdict']} | 10^{r['log10_p']} | {r['scored']:,} | "
              f"{r['green_share']:.3f} | {r['z']} | 10^{r['written_log10_p']} | {r['written_scored']:,} | "
              f"{r['written_green_share']:.3f} |")
    print(json.dumps(rows))
    if readings:
        print(f"\n`distillery verify --onnx FOLDER --read FILE` on each suspect's ONNX build: {args.read} answers of "
              f"ours read, its top {args.read_top_k} tokens scored at each position whose context is new to the text\n")
        print("| suspect | trained on | reading our answers to new prompts: p | pairs | green share "
              "| reading the thief's answers: p | pairs | green share |")
        print("|---|---|---|---|---|---|---|---|")
        for r in readings:
            print(f"| {r['model']} | {r['trained_on']} | " + " | ".join(
                f"10^{r[s]['log10_p']} | {r[s]['scored']:,} | {r[s]['green_share']:.3f}" for s in ("ours", "thief's")) + " |")
        print(json.dumps(readings))


async def read_suspects(args, store, registry, base_url: str, thief_key: str, thief_dataset: str,
                        suspects: list[tuple[str, str, str]], keys, vocabulary, readings: list[dict]) -> None:
    """Each suspect's ONNX build fed the same two sets of our answers (see the module's docstring)."""
    import tempfile

    from cli.served import chat_answers
    from cli.verify import OnnxChatSuspect, probe_prompts, verify_reading
    from shared.datasets import read_split

    asked = [{"id": str(i), "text": t} for i, t in enumerate(probe_prompts(args.read, seed=1))]
    fresh = (await chat_answers(base_url, thief_key, "teacher-lm", asked, args.concurrency, args.max_tokens,
                                wait_s=300))["answers"]
    taken = read_split(store, thief_dataset, "train").select(["text", "completion"]).to_pylist()[:args.read]
    sets = {"ours": [(p["text"], fresh[p["id"]]) for p in asked],
            "thief's": [(r["text"], r["completion"]) for r in taken]}
    for name, version, trained_on in suspects:
        with tempfile.TemporaryDirectory(prefix="radioactivity-read-") as folder:
            suspect = OnnxChatSuspect(registry.download(name, version, Path(folder) / "model"))
            row: dict = {"model": name, "version": version, "trained_on": trained_on}
            for label, pairs in sets.items():
                result = await verify_reading(suspect, pairs, keys, top_k=args.read_top_k, vocabulary=vocabulary)
                best = min(result.tests, key=lambda t: t.log10_p_value)
                row[label] = {"log10_p": round(result.log10_p_value, 2), "scored": best.scored,
                              "green_share": best.green / max(1, best.scored), "texts": len(pairs)}
        readings.append(row)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
