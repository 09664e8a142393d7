"""Watermark benchmark: what watermarking costs honest clients, and how surely `distillery verify`
names a thief, for watermark fractions of 0.1%, 0.5% and 2%.

Live on the embedded stack: the real inference service (restarted per fraction) answers an honest
client, an allow-listed one (the truth, for the accuracy cost) and thieves with 2,000, 8,000 and
24,004 stolen queries; each thief trains a student with the project's own training code
(services.trainer.training.build_student) and the verifier replays the thief's ledger to it. At
0.5% it also measures the two limits the README names: a thief who asks three paraphrases of every
input and trains on their average answer, and one who mixes our answers 50/50 with another
teacher's. Ten students trained without the API calibrate the false positives, over many keys.

    .venv/bin/python -m benchmarks.watermark            # about 20 minutes on 2 CPUs
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import math
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.detection import MODEL, ROOT, register_model
from cli.verify import OnnxSuspect, verify
from shared.oip import PROBABILITIES_OUTPUT, OipClient, probabilities_from_response
from shared.watermark import (
    LedgerEntry,
    LedgerSummary,
    WatermarkKey,
    new_key,
    parse_keys,
    read_ledger,
    watermark_class,
)

DATA = ROOT / "data" / "wordnet"
CACHE = ROOT / ".cache"
PROOF_P = 1e-9


def glosses() -> list[dict]:
    """Every WordNet gloss we ship (heldout first, then the teacher's training set): 24,004 texts."""
    rows = []
    for name in ("heldout", "teacher-train"):
        with gzip.open(DATA / f"{name}.jsonl.gz", "rt", encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


async def query(url: str, api_key: str, texts: list[str], model: str = MODEL, batch: int = 64,
                concurrency: int = 8) -> np.ndarray:
    """The probabilities the service gives this key for each text, in order."""
    out: list[np.ndarray | None] = [None] * ((len(texts) + batch - 1) // batch)
    gate = asyncio.Semaphore(concurrency)
    async with OipClient(url, api_key=api_key, timeout_s=120) as client:
        async def one(i: int) -> None:
            async with gate:
                response = await client.infer(model, texts[i * batch:(i + 1) * batch], outputs=[PROBABILITIES_OUTPUT])
                out[i] = probabilities_from_response(response)

        await asyncio.gather(*(one(i) for i in range(len(out))))
    return np.concatenate([part for part in out if part is not None])  # gather returned: every part is there


def train_student(name: str, texts: list[str], targets: np.ndarray, classes: list[str], out: Path,
                  gold: Sequence[str | None] | None = None, seed: int = 0, **spec: Any) -> Path:
    """A student trained with the project's own code (build_student: train, ONNX export, parity
    check) on these texts and targets; 92% train, 4% validation, 4% test."""
    import torch

    from services.trainer.students import teacher_token_vectors
    from services.trainer.teacher_model import ensure_teacher_model
    from services.trainer.training import Split, build_student
    from shared.events import StudentSpec

    torch.set_num_threads(max(1, torch.get_num_threads()))
    order = np.random.default_rng(seed).permutation(len(texts))
    cut_val, cut_test = int(len(texts) * 0.92), int(len(texts) * 0.96)
    gold = gold or [None] * len(texts)

    def split(rows: np.ndarray) -> Split:
        return Split([texts[i] for i in rows], targets[rows], [gold[i] for i in rows])

    shutil.rmtree(out, ignore_errors=True)
    build_student(StudentSpec(name=name, seed=seed, **spec), classes, teacher_token_vectors(CACHE / "trainer"), None,
                  ensure_teacher_model(CACHE) / "tokenizer.json", split(order[:cut_val]),
                  split(order[cut_val:cut_test]), split(order[cut_test:]), out, {"dataset": name})
    return out


def one_hot(labels: list[str], classes: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    targets = np.zeros((len(labels), len(classes)), dtype=np.float32)
    targets[np.arange(len(labels)), [index[label] for label in labels]] = 1.0
    return targets


def teacher_probabilities(texts: list[str]) -> np.ndarray:
    """Another teacher: the MiniLM supersense model, run here (never through the API)."""
    from services.trainer.teacher_model import ensure_teacher_model
    from shared.textmodel import TextClassifier

    return TextClassifier(ensure_teacher_model(CACHE), device="cpu").predict_batched(texts)


def innocent_students(rows: list[dict], classes: list[str], out: Path, count: int = 10,
                      texts_each: int = 8000, epochs: int = 6) -> list[Path]:
    """Students that never saw the API: half on gold labels, half distilled from another teacher
    (MiniLM, run locally); different seeds, subsets and heads."""
    rng = random.Random(11)
    pool = rng.sample(range(len(rows)), min(len(rows), texts_each * 2))
    other_texts = [rows[i]["text"] for i in pool[:texts_each]]
    other = teacher_probabilities(other_texts)
    students = []
    for k in range(count):
        spec: dict[str, Any] = {"epochs": epochs, "patience": 3, "hidden": 128 if k % 2 else 0}
        if k < count // 2:
            picked = rng.sample(pool, texts_each)
            texts, labels = [rows[i]["text"] for i in picked], [rows[i]["label"] for i in picked]
            students.append(train_student(f"gold-{k}", texts, one_hot(labels, classes), classes, out / f"gold-{k}",
                                          labels, seed=k, kd_weight=0.0, hard_labels="gold", **spec))
        else:
            students.append(train_student(f"other-teacher-{k}", other_texts, other, classes, out / f"other-teacher-{k}",
                                          seed=k, **spec))
    return students


# ---- false positives over many keys ---------------------------------------------------------------

def false_positive_rates(answers: dict[str, list[str]], texts: list[str], truth: list[int], classes: list[str],
                         fraction: float, keys: int = 1000) -> dict[str, float]:
    """For students that never saw the API, draw `keys` fresh keys, mark `texts` at `fraction` as the
    service would, and test each student's own answers against each key's ledger: the share of
    (student, key) pairs with p below 0.01 and below 1e-6. A valid test keeps them under 1% and 1e-6."""
    from shared.watermark import OwnershipTest

    index = {c: i for i, c in enumerate(classes)}
    below = {0.01: 0, 1e-6: 0}
    tests = 0
    for k in range(keys):
        key = parse_keys(new_key(f"fp{k}"))[0]
        marked = [(i, watermark_class(key, texts[i], truth[i], len(classes), fraction)) for i in range(len(texts))]
        marked = [(i, answer) for i, answer in marked if answer is not None]
        for student in answers.values():
            said = [index.get(student[i], -1) for i, _ in marked]
            hits = sum(s == answer for s, (_, answer) in zip(said, marked))
            disagreements = sum(s != truth[i] for s, (i, _) in zip(said, marked))
            p = OwnershipTest(len(marked), hits, disagreements, len(classes)).p_value
            tests += 1
            for level in below:
                below[level] += p < level
    return {f"p<{level:g}": count / tests for level, count in below.items()} | {"tests": tests}


# ---- the live benchmark ---------------------------------------------------------------------------

@dataclass
class ThiefResult:
    fraction: float
    stolen: int
    watermarked: int
    hits: int
    queries: int
    log10_p: float
    queries_needed: int | None
    agreement: float


async def verify_folder(folder: Path, entries: list[LedgerEntry], summary: LedgerSummary, max_queries: int = 2000):
    return await verify(OnnxSuspect(folder), entries, summary, max_queries, alpha=PROOF_P)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fractions", default="0.001,0.005,0.02")
    parser.add_argument("--stolen", default="2000,8000,24004")
    parser.add_argument("--honest", type=int, default=4000, help="heldout texts asked by the honest client")
    args = parser.parse_args()
    asyncio.run(run_benchmark([float(f) for f in args.fractions.split(",")], [int(n) for n in args.stolen.split(",")],
                              args.honest))


async def run_benchmark(fractions: list[float], stolen_sizes: list[int], honest: int) -> None:
    from cli.stack import EmbeddedStack, StackConfig
    from shared.keys import KeyStore
    from shared.store import ArtifactStore

    rows = glosses()
    texts = [r["text"] for r in rows]
    gold = [r["label"] for r in rows]
    work = Path(tempfile.mkdtemp(prefix="distillery-watermark-"))
    stack = EmbeddedStack(StackConfig.on_free_ports(work / "stack"))
    keys_spec = new_key("bench")
    keys = parse_keys(keys_spec)
    results: list[ThiefResult] = []
    costs: dict[float, dict] = {}
    limits: dict[str, dict] = {}
    started = time.perf_counter()
    try:
        stack.start_infra()
        store = ArtifactStore(stack.config.s3())
        register_model(store)
        url = f"127.0.0.1:{stack.config.inference_port}"
        key_store = KeyStore(store)
        truth_key = key_store.create("allow-listed", scopes=("probabilities",))
        for fraction in fractions:
            with stack.services_up(("inference",), {
                    "WATERMARK_KEYS": keys_spec, "INFERENCE_WATERMARK_FRACTION": str(fraction),
                    "INFERENCE_WATERMARK_ALLOW_CLIENTS": "allow-listed", "INFERENCE_WATERMARK_LEDGER_FLUSH_S": "1",
                    "INFERENCE_MODEL_CACHE": str(work / "models")}):
                classes, cost, fraction_results, fraction_limits = await measure_fraction(
                    url, fraction, key_store, truth_key, store, keys, texts, gold[:honest], stolen_sizes, work)
            costs[fraction] = cost
            results += fraction_results
            limits.update(fraction_limits)
        # False positives: ten students that never saw the API, each tested under 200 fresh keys.
        innocents = innocent_students(rows, classes, work / "innocents")
        calibration = calibrate(innocents, texts, classes)
    finally:
        stack.down()
    print_report(costs, results, limits, calibration, time.perf_counter() - started)
    shutil.rmtree(work, ignore_errors=True)


async def measure_fraction(url: str, fraction: float, key_store, truth_key: str, store, keys: list[WatermarkKey],
                           texts: list[str], honest_gold: list[str], stolen_sizes: list[int], work: Path):
    """One watermark fraction, the service running with it: the accuracy cost to an honest client,
    the thieves, and (at 0.5%) the limits."""
    await wait_serving(url, truth_key)
    tag = f"{fraction:g}".replace(".", "_")
    async with OipClient(url, truth_key) as client:
        classes = await client.classes(MODEL)
    # The accuracy cost to an honest client: its answers against the truth, on heldout glosses.
    honest_texts = texts[:len(honest_gold)]
    truth = await query(url, truth_key, honest_texts)
    given = await query(url, key_store.create(f"honest-{tag}", scopes=("probabilities",)), honest_texts)
    index = {c: i for i, c in enumerate(classes)}
    gold_index = np.asarray([index[g] for g in honest_gold])
    cost = {"changed": float((truth.argmax(1) != given.argmax(1)).mean()),
            "accuracy_truth": float((truth.argmax(1) == gold_index).mean()),
            "accuracy_given": float((given.argmax(1) == gold_index).mean())}
    print(f"fraction {fraction:.1%}: {cost}", flush=True)
    results = []
    for size in stolen_sizes:
        thief = f"thief-{tag}-{size}"
        stolen = await query(url, key_store.create(thief, scopes=("probabilities",)), texts[:size])
        await asyncio.sleep(2.5)  # the ledger's flush interval, twice
        entries, summary = read_ledger(store, keys, thief)
        folder = train_student(thief.replace("_", "-"), texts[:size], stolen, classes, work / thief)
        t = (verification := await verify_folder(folder, entries, summary)).test
        results.append(ThiefResult(fraction, size, len(entries), t.hits, t.queries, t.log10_p_value,
                                   verification.queries_to_alpha, 1 - t.disagreements / max(1, t.queries)))
        print(f"  {results[-1]}", flush=True)
    limits = {}
    if math.isclose(fraction, 0.005):
        limits = await measure_limits(url, key_store, store, keys, texts, classes, work, tag)
    return classes, cost, results, limits


async def wait_serving(url: str, api_key: str, model: str = MODEL, timeout_s: float = 120.0) -> None:
    """Until the service answers for this model (loaded, and promoted models swapped in)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await query(url, api_key, ["a warm-up text"], model=model)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(1.0)


async def measure_limits(url: str, key_store, store, keys: list[WatermarkKey], texts: list[str], classes: list[str],
                         work: Path, tag: str) -> dict[str, dict]:
    """The two limits, at the fraction in force: paraphrase averaging and mixing with another teacher."""
    from cli.simulator import Corpora, _perturb

    vocab = Corpora.load().vocab
    rng = random.Random(3)
    limits = {}
    # Paraphrases: the original and two perturbed variants of each text; the student learns their mean answer.
    client = f"paraphraser-{tag}"
    variants = [[t, _perturb(t, rng, vocab), _perturb(t, rng, vocab)] for t in texts]
    flat = [v for group in variants for v in group]
    answers = await query(url, key_store.create(client, scopes=("probabilities",)), flat)
    mean = answers.reshape(len(texts), 3, -1).mean(axis=1)
    await asyncio.sleep(2.5)
    entries, summary = read_ledger(store, keys, client)
    folder = train_student("paraphraser", texts, mean, classes, work / client)
    verification = await verify_folder(folder, entries, summary)
    limits["paraphrase (3 variants, mean answer)"] = summarise(verification, len(flat), len(entries))
    # Mixing: our answers averaged 50/50 with another teacher's.
    client = f"mixer-{tag}"
    ours = await query(url, key_store.create(client, scopes=("probabilities",)), texts)
    other = teacher_probabilities(texts)
    await asyncio.sleep(2.5)
    entries, summary = read_ledger(store, keys, client)
    for weight in (0.5, 0.25):
        folder = train_student(f"mixer-{int(weight * 100)}", texts, weight * ours + (1 - weight) * other, classes,
                               work / f"{client}-{weight}")
        verification = await verify_folder(folder, entries, summary)
        limits[f"mixed, {weight:.0%} our answers"] = summarise(verification, len(texts), len(entries))
    for name, figures in limits.items():
        print(f"  {name}: {figures}", flush=True)
    return limits


def summarise(verification, stolen: int, watermarked: int) -> dict:
    t = verification.test
    return {"stolen": stolen, "watermarked": watermarked, "hits": t.hits, "queries": t.queries,
            "log10_p": round(t.log10_p_value, 1), "queries_needed": verification.queries_to_alpha}


def calibrate(innocents: list[Path], texts: list[str], classes: list[str]) -> dict:
    from services.trainer.teacher_model import ensure_gold_student
    from shared.textmodel import TextClassifier

    ours = TextClassifier(ensure_gold_student(CACHE), device="cpu").predict_batched(texts).argmax(1)
    answers = {}
    for folder in innocents:
        model = TextClassifier(folder, device="cpu")
        answers[folder.name] = [model.classes[i] for i in model.predict_batched(texts).argmax(1)]
    rates = {}
    for fraction in (0.005, 0.02):
        rates[fraction] = false_positive_rates(answers, texts, [int(i) for i in ours], classes, fraction, keys=200)
    return rates


def print_report(costs, results, limits, calibration, seconds: float) -> None:
    print(f"\nwatermark benchmark, {seconds / 60:.1f} min")
    print("\n| fraction | answers changed | honest gold accuracy (truth -> given) | cost |")
    print("|---|---|---|---|")
    for fraction, c in costs.items():
        print(f"| {fraction:.1%} | {c['changed']:.2%} | {c['accuracy_truth']:.4f} -> {c['accuracy_given']:.4f} | "
              f"{c['accuracy_truth'] - c['accuracy_given']:.2%} |")
    print("\n| fraction | stolen queries | watermarked in ledger | reproduced | suspect queries | p-value | "
          f"queries to p < {PROOF_P:g} | suspect gives our real answer (ledger inputs) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r.fraction:.1%} | {r.stolen} | {r.watermarked} | {r.hits} | {r.queries} | 10^{r.log10_p:.1f} | "
              f"{r.queries_needed or 'not reached'} | {r.agreement:.3f} |")
    if limits:
        print("\n| limit (0.5%) | stolen queries | watermarked | reproduced | p-value | queries to p < 1e-9 |")
        print("|---|---|---|---|---|---|")
        for name, f in limits.items():
            print(f"| {name} | {f['stolen']} | {f['watermarked']} | {f['hits']} | 10^{f['log10_p']} | "
                  f"{f['queries_needed'] or 'not reached'} |")
    print("\nfalse positives, ten students without API access, 200 fresh keys each:")
    for fraction, rates in calibration.items():
        print(f"  fraction {fraction:.1%}: {rates}")


if __name__ == "__main__":
    main()
