"""The domain reference of a model: sketches (shared.fingerprint.text_sketch) of a sample of the
texts it was trained on, each with the class its training gave it. It travels with the model
version (`domain.npz` in the registry); the detector compares a client's queries with it."""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shared.fingerprint import SKETCH_DIM, sketch_vectors, text_sketch

DOMAIN_FILE = "domain.npz"
REFERENCE_SIZE = 4000


@dataclass
class DomainReference:
    classes: list[str]
    sketches: np.ndarray  # [N, SKETCH_DIM] float32 unit vectors
    labels: np.ndarray  # [N] class index

    def __post_init__(self) -> None:
        self.by_class = [np.flatnonzero(self.labels == c) for c in range(len(self.classes))]
        self.class_index = {c: i for i, c in enumerate(self.classes)}

    @classmethod
    def from_bytes(cls, body: bytes) -> DomainReference:
        with np.load(io.BytesIO(body), allow_pickle=False) as data:
            classes = [str(c) for c in data["classes"]]
            raw = data["sketches"]
            return cls(classes, sketch_vectors([raw.tobytes()]).reshape(-1, SKETCH_DIM), data["labels"].astype(np.int64))


def write_domain_reference(model_dir: Path, texts: list[str], labels: list[str], classes: list[str],
                           size: int = REFERENCE_SIZE, seed: int = 0) -> Path:
    """Sample up to `size` (text, label) pairs of a model's training data into model_dir/domain.npz."""
    pairs = [(t, label) for t, label in zip(texts, labels) if label in classes]
    pairs = random.Random(seed).sample(pairs, min(size, len(pairs)))
    index = {c: i for i, c in enumerate(classes)}
    sketches = np.frombuffer(b"".join(text_sketch(t) for t, _ in pairs), dtype=np.int8).reshape(-1, SKETCH_DIM)
    path = model_dir / DOMAIN_FILE
    np.savez_compressed(path, sketches=sketches, labels=np.array([index[label] for _, label in pairs], dtype=np.int16),
                        classes=np.array(classes))
    return path
