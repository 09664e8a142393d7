"""A job's prompts, from where the job says: a JSONL or Parquet file in the artifact store, and
templates whose slots are filled with every combination of their values."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import string

import pyarrow.parquet as pq

from shared.events import DistillJob, PromptTemplate
from shared.store import ArtifactStore


def text_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def parse_jsonl(body: bytes, id_field: str = "id", text_field: str = "text") -> tuple[list[tuple[str, str]], int]:
    """(prompt id, text) pairs, and how many lines were unusable. A line without an id gets one
    from its text."""
    pairs, bad = [], 0
    for line in body.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row[text_field]
            if not isinstance(text, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        pairs.append((str(row.get(id_field) or text_id(text)), text))
    return pairs, bad


def parse_parquet(body: bytes, id_field: str = "id", text_field: str = "text") -> tuple[list[tuple[str, str]], int]:
    table = pq.read_table(io.BytesIO(body))
    if text_field not in table.column_names:
        raise ValueError(f"the Parquet file has no column {text_field!r} (it has {', '.join(table.column_names)})")
    texts = table.column(text_field).to_pylist()
    ids = table.column(id_field).to_pylist() if id_field in table.column_names else [None] * len(texts)
    pairs, bad = [], 0
    for prompt_id, text in zip(ids, texts):
        if not isinstance(text, str):
            bad += 1
            continue
        pairs.append((str(prompt_id) if prompt_id not in (None, "") else text_id(text), text))
    return pairs, bad


def expand_template(template: PromptTemplate) -> list[tuple[str, str]]:
    # Slots vary in the order they appear in the template, the last fastest.
    names = list(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template.template) if name))
    missing = [name for name in names if name not in template.slots]
    if missing:
        raise ValueError(f"template {template.id!r} has slots with no values: {', '.join(missing)}")
    pairs = []
    for values in itertools.product(*(template.slots[name] for name in names)):
        if template.limit is not None and len(pairs) >= template.limit:
            break
        text = template.template.format(**dict(zip(names, values)))
        pairs.append((f"{template.id}-{text_id(text)}", text))
    return pairs


def load_prompts(job: DistillJob, store: ArtifactStore) -> tuple[list[tuple[str, str]], int]:
    """Every prompt of the job once (the first of a repeated id wins), in source order; and how many
    source rows were unusable."""
    pairs: list[tuple[str, str]] = []
    bad = 0
    if job.prompts_uri:
        body = store.get_bytes(job.prompts_uri)
        fmt = job.prompts_format
        if fmt == "auto":
            fmt = "parquet" if job.prompts_uri.endswith((".parquet", ".pq")) else "jsonl"
        parse = parse_parquet if fmt == "parquet" else parse_jsonl
        pairs, bad = parse(body, job.id_field, job.text_field)
    for template in job.templates:
        pairs += expand_template(template)
    unique: dict[str, str] = {}
    for prompt_id, text in pairs:
        unique.setdefault(prompt_id, text)
    return list(unique.items()), bad
