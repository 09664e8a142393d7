"""Curation: from a job's teacher responses to a versioned, immutable dataset.

In order, each response is: dropped when the teacher gave no answer; scrubbed of e-mail addresses,
phone numbers and API keys; dropped (and counted, by reason) when empty or oversized, when the
teacher was unsure of it, when it repeats an earlier text exactly or nearly (MinHash LSH over
character shingles). A generative teacher's answer is also dropped when it was cut at max_tokens,
is empty, a refusal, loops, or carries contact details or keys. What is left is split
train/val/test by a hash of the normalised text (or of the prompt's group, where the job names a
group column), so that the same text or group always lands in the same split whichever job or run
it comes from; the train split is then optionally capped per class. Splits are written as Parquet
shards with a manifest: for a generative teacher, each answer position by position (token bytes,
logprobs, the top-k alternatives; token ids too when a tokenizer is named).
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from datasketch import MinHash, MinHashLSH

from shared.events import NOT_ASKED, Completion, CurationSpec, DatasetReady, TeacherResponse, utcnow
from shared.fingerprint import normalise
from shared.store import ArtifactStore

SPLITS = ("train", "val", "test")
SCHEMA = pa.schema([
    ("prompt_id", pa.string()),
    ("text", pa.string()),
    ("teacher_label", pa.string()),
    ("probabilities", pa.list_(pa.float32())),
    ("embedding", pa.list_(pa.float32())),  # set by embedding teachers, which give no probabilities
    ("gold_label", pa.string()),  # from the prompt file's label field, where it has one
    # Generative teachers (shared.events.Completion), position by position:
    ("completion", pa.string()),
    ("finish_reason", pa.string()),
    ("completion_tokens", pa.list_(pa.binary())),  # each token's bytes
    ("token_logprobs", pa.list_(pa.float32())),
    ("top_tokens", pa.list_(pa.list_(pa.binary()))),  # each position's k alternatives, best first
    ("top_logprobs", pa.list_(pa.list_(pa.float32()))),
    ("completion_token_ids", pa.list_(pa.int32())),  # in `tokenizer_model`'s vocabulary (-1: not in it)
    ("top_token_ids", pa.list_(pa.list_(pa.int32()))),
    ("group", pa.string()),  # the prompt's split group, where the job names a group column
])

# The openings of a chat model's refusals: an answer that starts so teaches a student to refuse.
REFUSAL = re.compile(r"^\W*(?:I'?m sorry|I am sorry|I apologi[sz]e|I can(?:no|')t|I can not|I am (?:not able|unable)"
                     r"|I'?m (?:not able|unable)|As an AI)\b", re.IGNORECASE)

# What scrubbing replaces, most specific first: a key must not be half-eaten by the phone pattern.
SCRUBBERS = [
    ("api_key", re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{30,}\b"
                           r"|\bxox[abpr]-[A-Za-z0-9-]{10,}|\bAIza[0-9A-Za-z_-]{35}\b"), "[API_KEY]"),
    ("email", re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"), "[EMAIL]"),
    ("phone", re.compile(r"(?<![\w+])\+?\d{1,3}?[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}(?!\w)"), "[PHONE]"),
]


def scrub(text: str) -> tuple[str, list[str]]:
    """The text with secrets and personal contact details replaced, and what kinds were found."""
    found = []
    for kind, pattern, replacement in SCRUBBERS:
        text, n = pattern.subn(replacement, text)
        if n:
            found.append(kind)
    return text, found


def split_of(text: str, val_fraction: float, test_fraction: float) -> str:
    digest = hashlib.sha256(normalise(text).encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < test_fraction:
        return "test"
    if position < test_fraction + val_fraction:
        return "val"
    return "train"


def shingles(text: str, size: int = 5) -> set[bytes]:
    """Character shingles of the normalised text: robust to the small edits that make near-duplicates
    of short texts (a word changed, punctuation, spacing)."""
    text = normalise(text)
    if len(text) <= size:
        return {text.encode("utf-8")}
    return {text[i:i + size].encode("utf-8") for i in range(len(text) - size + 1)}


class NearDuplicates:
    """Near-duplicate detection by MinHash LSH: `seen_before(text)` is true when an earlier text has
    an estimated Jaccard similarity of `threshold` or more over character shingles."""

    NUM_PERM = 128

    def __init__(self, threshold: float) -> None:
        self.lsh = MinHashLSH(threshold=threshold, num_perm=self.NUM_PERM)
        self.threshold = threshold
        self.signatures: dict[str, np.ndarray] = {}  # the hash values alone: 1 KB a text

    def seen_before(self, key: str, text: str) -> bool:
        signature = MinHash(num_perm=self.NUM_PERM, seed=1)
        signature.update_batch(list(shingles(text)))
        # LSH finds candidates; the estimate (the share of equal hash values) confirms them, so that a
        # false candidate is not dropped.
        for other in self.lsh.query(signature):
            if float(np.mean(self.signatures[other] == signature.hashvalues)) >= self.threshold:
                return True
        self.lsh.insert(key, signature)
        self.signatures[key] = signature.hashvalues
        return False


def repetition(text: str, n: int = 3) -> float:
    """The share of a text's word n-grams that repeat an earlier one: near 0 for prose, near 1 for
    a model stuck in a loop."""
    words = normalise(text).split()
    grams = [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]
    return 1 - len(set(grams)) / len(grams) if grams else 0.0


def entropy(probabilities: list[float]) -> float:
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return float(-(p * np.log(p)).sum())


@dataclass
class Row:
    response: TeacherResponse
    text: str  # scrubbed
    gold_label: str | None = None
    group: str | None = None


@dataclass
class Curated:
    splits: dict[str, list[Row]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    dropped: Counter = field(default_factory=Counter)
    scrubbed: Counter = field(default_factory=Counter)


def drop_reason(response: TeacherResponse, text: str, spec: CurationSpec) -> str | None:
    if response.error is not None and response.error.startswith(NOT_ASKED):
        return "not_asked_budget"
    if response.error is not None or (response.probabilities is None and response.embedding is None
                                      and response.completion is None):
        return "teacher_error"
    if not text or len(text) < spec.min_chars:
        return "empty"
    if len(text) > spec.max_chars:
        return "oversized"
    if response.completion is not None:
        return answer_drop_reason(response.completion, spec)
    if response.probabilities is not None:
        if max(response.probabilities) < spec.min_confidence:
            return "low_confidence"
        if spec.max_entropy is not None and entropy(response.probabilities) > spec.max_entropy:
            return "low_confidence"
    return None


def answer_drop_reason(completion: Completion, spec: CurationSpec) -> str | None:
    answer = completion.text.strip()
    if completion.finish_reason == "length" and not spec.keep_truncated:
        return "truncated"
    if not answer:
        return "empty_answer"
    if spec.drop_refusals and REFUSAL.match(answer):
        return "refusal"
    if repetition(answer) > spec.max_repetition:
        return "repetitive"
    if spec.scrub and scrub(answer)[1]:
        return "pii_in_answer"
    return None


def curate(responses: list[TeacherResponse], spec: CurationSpec, gold_labels: dict[str, str] | None = None,
           groups: dict[str, str] | None = None) -> Curated:
    result = Curated()
    exact: set[str] = set()
    near = NearDuplicates(spec.near_duplicate_threshold) if spec.near_duplicate_threshold is not None else None
    for response in sorted(responses, key=lambda r: r.seq):
        text = response.text.strip()
        if spec.scrub:
            text, found = scrub(text)
            result.scrubbed.update(found)
        reason = drop_reason(response, text, spec)
        if reason is None and normalise(text) in exact:
            reason = "duplicate"
        if reason is None and near is not None and near.seen_before(response.prompt_id, text):
            reason = "near_duplicate"
        if reason is not None:
            result.dropped[reason] += 1
            continue
        exact.add(normalise(text))
        group = (groups or {}).get(response.prompt_id)
        row = Row(response, text, (gold_labels or {}).get(response.prompt_id), group)
        result.splits[split_of(f"group:{group}" if group is not None else text, spec.val_fraction,
                               spec.test_fraction)].append(row)
    if spec.max_per_class is not None:
        result.splits["train"] = cap_per_class(result.splits["train"], spec.max_per_class, result.dropped)
    return result


def teacher_label(response: TeacherResponse) -> str | None:
    if not response.probabilities:
        return None
    return response.classes[int(np.argmax(response.probabilities))]


def cap_per_class(rows: list[Row], cap: int, dropped: Counter) -> list[Row]:
    """Class balancing: at most `cap` training rows per teacher label, the first in hash order (so the
    same rows are kept on every run). Val and test keep the natural distribution."""
    kept: list[Row] = []
    per_class: Counter[str | None] = Counter()
    for row in sorted(rows, key=lambda r: hashlib.sha256(normalise(r.text).encode()).digest()):
        label = teacher_label(row.response)
        if label is not None and per_class[label] >= cap:
            dropped["class_cap"] += 1
            continue
        per_class[label] += 1
        kept.append(row)
    return sorted(kept, key=lambda r: r.response.seq)


GENERATIVE_COLUMNS = ("completion", "finish_reason", "completion_tokens", "token_logprobs", "top_tokens",
                      "top_logprobs", "completion_token_ids", "top_token_ids")


def completion_values(c: Completion, vocabulary: dict[bytes, int] | None) -> dict:
    tokens = [bytes.fromhex(t) for t in c.tokens]
    top = [[bytes.fromhex(t) for t in position] for position in c.top_tokens]
    return {"completion": c.text, "finish_reason": c.finish_reason, "completion_tokens": tokens,
            "token_logprobs": c.logprobs, "top_tokens": top, "top_logprobs": c.top_logprobs,
            "completion_token_ids": [vocabulary.get(t, -1) for t in tokens] if vocabulary else None,
            "top_token_ids": [[vocabulary.get(t, -1) for t in p] for p in top] if vocabulary else None}


def completion_columns(rows: list[Row], vocabulary: dict[bytes, int] | None) -> dict[str, list]:
    """The generative columns (None where a row has no completion)."""
    columns: dict[str, list] = {name: [] for name in GENERATIVE_COLUMNS}
    for row in rows:
        c = row.response.completion
        values = completion_values(c, vocabulary) if c is not None else {}
        for name in GENERATIVE_COLUMNS:
            columns[name].append(values.get(name))
    return columns


def to_parquet(rows: list[Row], vocabulary: dict[bytes, int] | None = None) -> bytes:
    table = pa.table({
        "prompt_id": [r.response.prompt_id for r in rows],
        "text": [r.text for r in rows],
        "teacher_label": [teacher_label(r.response) for r in rows],
        "probabilities": [r.response.probabilities for r in rows],
        "embedding": [r.response.embedding for r in rows],
        "gold_label": [r.gold_label for r in rows],
        **completion_columns(rows, vocabulary),
        "group": [r.group for r in rows],
    }, schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def shard_names(split: str, rows: int, shard_rows: int) -> list[str]:
    count = max(1, math.ceil(rows / shard_rows))
    return [f"{split}-{i:05d}-of-{count:05d}.parquet" for i in range(count)]


def write_dataset(store: ArtifactStore, job_id: str, responses: list[TeacherResponse], spec: CurationSpec,
                  lineage: dict, gold_labels: dict[str, str] | None = None, groups: dict[str, str] | None = None,
                  vocabulary: dict[bytes, int] | None = None) -> tuple[DatasetReady, bool]:
    """Write the shards, then the manifest; a dataset that has a manifest is never written again
    (datasets are immutable once announced), so a replayed job announces the same dataset. Returns
    the dataset's event and whether it was written now. `vocabulary`: token bytes -> id, for the
    answers' token ids (shared.tokens.vocabulary_by_bytes of `spec.tokenizer_model`)."""
    dataset_id = f"{job_id}-v1"
    prefix = f"datasets/{dataset_id}"
    manifest_key = f"{prefix}/manifest.json"
    written = not store.exists(manifest_key)
    if written:
        curated = curate(responses, spec, gold_labels, groups)
        classes = next((r.classes for r in responses if r.classes), [])
        files: dict[str, list[dict]] = {}
        for split, rows in curated.splits.items():
            files[split] = []
            for i, name in enumerate(shard_names(split, len(rows), spec.shard_rows)):
                body = to_parquet(rows[i * spec.shard_rows:(i + 1) * spec.shard_rows], vocabulary)
                store.put_bytes(f"{prefix}/{name}", body, "application/vnd.apache.parquet")
                files[split].append({"name": name, "sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body),
                                     "rows": min(spec.shard_rows, len(rows) - i * spec.shard_rows)})
        store.put_json(manifest_key, {
            "dataset_id": dataset_id, "job_id": job_id, "created_at": utcnow().isoformat(),
            "schema": {f.name: str(f.type) for f in SCHEMA}, "files": files,
            "counts": {split: len(rows) for split, rows in curated.splits.items()},
            "received": len(responses), "dropped": dict(curated.dropped), "scrubbed": dict(curated.scrubbed),
            "classes": classes,
            "teacher_label_counts": {split: dict(Counter(teacher_label(r.response) for r in rows).most_common())
                                     for split, rows in curated.splits.items()},
            "gold_labels": sum(r.gold_label is not None for rows in curated.splits.values() for r in rows),
            "groups": {split: len({r.group for r in rows if r.group is not None})
                       for split, rows in curated.splits.items()},
            "completion_tokens": {split: sum(len(r.response.completion.tokens) for r in rows if r.response.completion)
                                  for split, rows in curated.splits.items()},
            "curation": spec.model_dump(), "lineage": lineage,
        })
    manifest = store.get_json(manifest_key)
    return DatasetReady(job_id=job_id, dataset_id=dataset_id, uri=store.uri(prefix), manifest_uri=store.uri(manifest_key),
                        counts=manifest["counts"], dropped=manifest["dropped"], classes=manifest["classes"]), written
