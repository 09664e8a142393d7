"""Training a student on a curated dataset with a knowledge-distillation loss, exporting it to ONNX
with a parity check (and optionally int8), and measuring it against the teacher on this machine.

Classifier teachers (probabilities): Hinton KD mixed with cross-entropy on hard labels. Embedding
teachers (vectors): cosine distance plus MSE to the teacher's vectors. Early stopping on validation
agreement; a checkpoint after every epoch, so that a killed trainer resumes where it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

from services.trainer import checkpoint
from services.trainer.export import INT8_MIN_TOP1_MATCH, ParityError, export_onnx, parity_check, quantize_int8
from services.trainer.report import write_card, write_curves
from services.trainer.students import Student, make_student
from shared.events import GateSpec, ModelMetrics, StudentSpec
from shared.textmodel import TextClassifier, speed

log = logging.getLogger(__name__)


@dataclass
class Split:
    texts: list[str]
    targets: np.ndarray  # [N, classes] teacher probabilities, or [N, dims] teacher vectors
    gold: list[str | None] = field(default_factory=list)  # gold labels, where the data has them


class CheckpointStore(Protocol):
    def load(self) -> bytes | None: ...
    def save(self, body: bytes) -> None: ...


def kd_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.: KL(teacher_T || student_T) * T^2, the teacher softened by re-tempering its
    probabilities (log p / T, renormalised)."""
    teacher_t = torch.softmax(torch.log(teacher_probs.clamp(min=1e-8)) / temperature, dim=-1)
    student_log_t = F.log_softmax(student_logits / temperature, dim=-1)
    return F.kl_div(student_log_t, teacher_t, reduction="batchmean") * temperature**2


def classifier_loss(logits: torch.Tensor, teacher_probs: torch.Tensor, hard: torch.Tensor, spec: StudentSpec) -> torch.Tensor:
    loss: torch.Tensor | float = (spec.kd_weight * kd_loss(logits, teacher_probs, spec.temperature)
                                  if spec.kd_weight > 0 else 0.0)
    if spec.kd_weight < 1:
        loss = loss + (1 - spec.kd_weight) * F.cross_entropy(logits, hard)
    assert isinstance(loss, torch.Tensor)  # kd_weight > 0 or < 1: at least one term is a tensor
    return loss


def embedding_loss(vectors: torch.Tensor, teacher_vectors: torch.Tensor) -> torch.Tensor:
    return (1 - F.cosine_similarity(vectors, teacher_vectors, dim=-1)).mean() + F.mse_loss(vectors, teacher_vectors)


def load_tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    return tokenizer


def encode(tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encodings = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encodings], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64)
    return ids, mask


def hard_labels(split: Split, classes: list[str], source: str) -> np.ndarray:
    """The teacher's top class; or the gold label, where the row has one and the job asks for it."""
    labels = split.targets.argmax(1)
    if source == "gold":
        index = {c: i for i, c in enumerate(classes)}
        gold = [index.get(g, -1) if g is not None else -1 for g in split.gold] or [-1] * len(labels)
        labels = np.where(np.asarray(gold) >= 0, gold, labels)
    return labels


def agreement(outputs: np.ndarray, split: Split, classifier: bool) -> float:
    """Top-1 agreement with the teacher (classifiers) or mean cosine to its vectors (embedders)."""
    if classifier:
        return float((outputs.argmax(1) == split.targets.argmax(1)).mean())
    a = outputs / np.clip(np.linalg.norm(outputs, axis=1, keepdims=True), 1e-12, None)
    b = split.targets / np.clip(np.linalg.norm(split.targets, axis=1, keepdims=True), 1e-12, None)
    return float((a * b).sum(1).mean())


def predict_torch(model: Student, ids: torch.Tensor, mask: torch.Tensor, batch_size: int = 512) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return torch.cat([model.encode(ids[i:i + batch_size], mask[i:i + batch_size])
                          for i in range(0, len(ids), batch_size)]).numpy()


def fingerprint(spec: StudentSpec, data_id: str) -> str:
    """A checkpoint is resumed only by the same training: same data, same recipe."""
    return hashlib.sha256((data_id + spec.model_dump_json()).encode()).hexdigest()[:16]


class EarlyStopping:
    def __init__(self, patience: int) -> None:
        self.patience, self.best, self.stale = patience, -float("inf"), 0
        self.best_state: dict[str, torch.Tensor] | None = None

    def update(self, score: float, model: torch.nn.Module) -> bool:
        """Record an epoch's score; true when training should stop."""
        if score > self.best:
            self.best, self.stale = score, 0
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.stale += 1
        return self.stale >= self.patience


def train_student(spec: StudentSpec, classes: list[str], vectors: torch.Tensor, tokenizer_path: Path, train: Split,
                  val: Split, data_id: str = "", progress: Callable[[int, dict], None] | None = None,
                  checkpoints: CheckpointStore | None = None) -> tuple[Student, list[dict]]:
    classifier = bool(classes)
    torch.manual_seed(spec.seed)
    tokenizer = load_tokenizer(tokenizer_path, spec.max_length)
    model = make_student(spec, vectors, len(classes) if classifier else train.targets.shape[1], classifier)
    sparse = {id(p) for p in model.sparse_parameters()}
    optimizers = [torch.optim.SparseAdam(model.sparse_parameters(), lr=spec.learning_rate),
                  torch.optim.Adam([p for p in model.parameters() if id(p) not in sparse], lr=spec.learning_rate)]
    ids, mask = encode(tokenizer, train.texts)
    val_ids, val_mask = encode(tokenizer, val.texts)
    targets = torch.from_numpy(train.targets.astype(np.float32))
    hard = torch.from_numpy(hard_labels(train, classes, spec.hard_labels)) if classifier else None
    # A student taught by gold labels alone stops early on gold accuracy, not on the teacher.
    gold_only = classifier and spec.kd_weight == 0 and spec.hard_labels == "gold"
    val_reference = Split(val.texts, np.eye(len(classes))[hard_labels(val, classes, "gold")], val.gold) if gold_only else val
    generator = torch.Generator().manual_seed(spec.seed)
    stopping = EarlyStopping(spec.patience)
    history: list[dict] = []
    first_epoch = 1
    key = fingerprint(spec, data_id)
    saved = checkpoints.load() if checkpoints else None
    if saved is not None:
        state = checkpoint.loads(saved)
        if state["fingerprint"] == key:
            model.load_state_dict(state["model"])
            for optimizer, optimizer_state in zip(optimizers, state["optimizers"]):
                optimizer.load_state_dict(optimizer_state)
            generator.set_state(state["generator"])
            stopping.best, stopping.stale, stopping.best_state = state["best"], state["stale"], state["best_state"]
            history, first_epoch = state["history"], state["epoch"] + 1
            log.info("resuming from the checkpoint after epoch %d", state["epoch"])
        else:
            log.info("a checkpoint of another training (data or recipe) is ignored")
    finished = bool(history) and history[-1].get("stopped", False)
    for epoch in range(first_epoch, spec.epochs + 1):
        if finished:
            break
        started = time.perf_counter()
        model.train()
        order = torch.randperm(len(train.texts), generator=generator)
        total = 0.0
        for start in range(0, len(order), spec.batch_size):
            batch = order[start:start + spec.batch_size]
            # Trim padding the batch does not need: most texts are far shorter than max_length.
            width = int(mask[batch].sum(1).max())
            out = model.encode(ids[batch, :width], mask[batch, :width])
            loss = (classifier_loss(out, targets[batch], hard[batch], spec) if hard is not None  # a classifier
                    else embedding_loss(out, targets[batch]))
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss.backward()
            for optimizer in optimizers:
                optimizer.step()
            total += loss.item() * len(batch)
        score = agreement(predict_torch(model, val_ids, val_mask), val_reference, classifier)
        finished = stopping.update(score, model)
        history.append({"epoch": epoch, "train_loss": total / len(order), "val_agreement": score,
                        "seconds": time.perf_counter() - started, "stopped": finished})
        if checkpoints:
            checkpoints.save(checkpoint.dumps({
                "fingerprint": key, "epoch": epoch, "model": model.state_dict(),
                "optimizers": [o.state_dict() for o in optimizers], "generator": generator.get_state(),
                "best": stopping.best, "stale": stopping.stale, "best_state": stopping.best_state,
                "history": history}))
        if progress:
            progress(epoch, history[-1])
    if stopping.best_state is not None:
        model.load_state_dict(stopping.best_state)
    model.eval()
    return model, history


def gold_accuracy(probabilities: np.ndarray, classes: list[str], gold: list[str | None]) -> tuple[float | None, int]:
    rows = [i for i, g in enumerate(gold) if g is not None]
    if not rows or not classes:
        return None, 0
    index = {c: i for i, c in enumerate(classes)}
    truth = np.asarray([index.get(g, -1) for g in gold if g is not None])  # the rows, in order
    return float((probabilities[rows].argmax(1) == truth).mean()), len(rows)


def quality(outputs: np.ndarray, test: Split, classes: list[str]) -> dict:
    """How close the student is to the teacher, and how right it is, on the test split."""
    classifier = bool(classes)
    figures: dict[str, float | None] = {"agreement": agreement(outputs, test, classifier), "kl_to_teacher": 0.0}
    if classifier:
        teacher = test.targets
        figures["kl_to_teacher"] = float(np.mean(np.sum(
            teacher * (np.log(np.clip(teacher, 1e-8, 1)) - np.log(np.clip(outputs, 1e-8, 1))), axis=1)))
        student_gold, rows = gold_accuracy(outputs, classes, test.gold)
        teacher_gold, _ = gold_accuracy(teacher, classes, test.gold)
        figures.update(gold_rows=rows, gold_accuracy=student_gold, teacher_gold_accuracy=teacher_gold,
                       relative_accuracy=student_gold / teacher_gold if student_gold is not None and teacher_gold else None)
    return figures


def evaluate(student_dir: Path, teacher_dir: Path | None, test: Split, classes: list[str],
             model_file: str = "model.onnx") -> dict:
    student = TextClassifier(student_dir, device="cpu", model_file=model_file)
    figures = quality(student.predict_batched(test.texts), test, classes)
    texts = test.texts[:512]
    figures["student_texts_per_s"], figures["student_p50_ms"] = speed(student, texts)
    if teacher_dir is not None:  # a teacher we can run here: measured in the same run, on the same texts
        figures["teacher_texts_per_s"], figures["teacher_p50_ms"] = speed(TextClassifier(teacher_dir, device="cpu"), texts)
    else:
        figures["teacher_texts_per_s"], figures["teacher_p50_ms"] = 0.0, 0.0
    tps = figures["teacher_texts_per_s"]
    figures["speedup"] = figures["student_texts_per_s"] / tps if tps else 0.0
    figures["test_rows"] = len(test.texts)
    figures["size_bytes"] = (student_dir / model_file).stat().st_size
    return figures


def gate_reasons(metrics: ModelMetrics, gate: GateSpec) -> list[str]:
    reasons = []
    if metrics.agreement < gate.min_agreement:
        reasons.append(f"agreement {metrics.agreement:.3f} < {gate.min_agreement:.3f}")
    if metrics.speedup < gate.min_speedup:
        reasons.append(f"speed-up {metrics.speedup:.1f}x < {gate.min_speedup:.1f}x")
    if gate.min_relative_accuracy is not None:
        if metrics.relative_accuracy is None:
            reasons.append("relative accuracy asked for, but the test split has no gold labels (set the job's label_field)")
        elif metrics.relative_accuracy < gate.min_relative_accuracy:
            reasons.append(f"relative accuracy {metrics.relative_accuracy:.3f} < {gate.min_relative_accuracy:.3f}")
    if gate.max_kl is not None and metrics.kl_to_teacher > gate.max_kl:
        reasons.append(f"KL to the teacher {metrics.kl_to_teacher:.3f} > {gate.max_kl:.3f}")
    return reasons


def build_student(spec: StudentSpec, classes: list[str], vectors: torch.Tensor, teacher_dir: Path | None,
                  tokenizer_path: Path, train: Split, val: Split, test: Split, out: Path, lineage: dict,
                  progress=None, checkpoints: CheckpointStore | None = None) -> ModelMetrics:
    """Train, export, check parity, evaluate; leaves a registry-ready model folder in `out` (model,
    tokenizer, model.json, card.json, card.md, training.png)."""
    if not train.texts or not test.texts:
        raise ValueError(f"dataset too small to train and test on: {len(train.texts)} train, {len(test.texts)} test rows")
    started = time.perf_counter()
    model, history = train_student(spec, classes, vectors, tokenizer_path, train, val if val.texts else test,
                                   lineage.get("dataset", ""), progress, checkpoints)
    train_s = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    output_name = "probabilities" if classes else "embedding"
    (out / "tokenizer.json").write_bytes(tokenizer_path.read_bytes())
    (out / "model.json").write_text(json.dumps({
        "name": spec.name, "kind": "text-classifier" if classes else "text-embedder", "student_kind": spec.kind,
        "classes": classes, "max_length": spec.max_length, "output": output_name}, indent=2))
    ids, mask = encode(load_tokenizer(tokenizer_path, spec.max_length), test.texts[:64])
    export_onnx(model, ids, mask, out / "model.onnx", output_name=output_name)
    parity = parity_check(model, out, test.texts)
    figures = evaluate(out, teacher_dir, test, classes)
    int8 = None
    if spec.quantize:
        # The fp32 graph stays beside the int8 one that is served, for comparison.
        (out / "model.onnx").rename(out / "model.fp32.onnx")
        match, int8_diff = quantize_int8(out / "model.fp32.onnx", out / "model.onnx", out, test.texts)
        int8 = {"top1_match_with_fp32": match, "max_abs_diff_to_fp32": int8_diff, "fp32": figures}
        if classes and match < INT8_MIN_TOP1_MATCH:
            raise ParityError(f"the int8 model's top class matches the fp32 model's on only {match:.3f} of the test "
                              f"texts (at least {INT8_MIN_TOP1_MATCH} needed)")
        figures = evaluate(out, teacher_dir, test, classes)
    metrics = ModelMetrics(parity_max_abs_diff=parity, quantized=spec.quantize, **figures)
    write_curves(history, out / "training.png", "teacher agreement" if classes else "cosine to teacher")
    write_card(out, {
        "model": spec.name, "student_kind": spec.kind, "metrics": metrics.model_dump(), "int8": int8,
        "training": spec.model_dump(), "train_rows": len(train.texts), "val_rows": len(val.texts),
        "train_seconds": round(train_s, 1), "epochs_run": len(history),
        "best_epoch": max(history, key=lambda h: h["val_agreement"])["epoch"] if history else 0,
        "history": history, "lineage": lineage})
    return metrics
