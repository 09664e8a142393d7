"""A job's prompts, from where the job says: a JSONL or Parquet file in the artifact store, and
templates whose slots are filled with every combination of their values."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import string
from collections.abc import Iterable, Iterator

import pyarrow.parquet as pq

from shared.events import DistillJob, PromptTemplate
from shared.store import ArtifactStore


def text_id(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def row_id(row: dict, id_field: str, text: str) -> str:
    """A row's prompt id: its id field, or one made from its text when it has none."""
    prompt_id = row.get(id_field)
    return str(prompt_id) if prompt_id not in (None, "") else text_id(text)


def source_rows(body: bytes, fmt: str) -> Iterator[dict | None]:
    """The rows of a JSONL or Parquet prompt file; None for a JSONL line that is not a JSON object."""
    if fmt == "parquet":
        yield from pq.read_table(io.BytesIO(body)).to_pylist()
        return
    for line in body.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        yield row if isinstance(row, dict) else None


def prompt_pairs(rows: Iterable[dict | None], id_field: str = "id", text_field: str = "text") -> tuple[list[tuple[str, str]], int]:
    """(prompt id, text) pairs, and how many rows were unusable. A row without an id gets one from
    its text."""
    pairs: list[tuple[str, str]] = []
    bad = 0
    for row in rows:
        text = row.get(text_field) if row is not None else None
        if row is None or not isinstance(text, str):
            bad += 1
            continue
        pairs.append((row_id(row, id_field, text), text))
    return pairs, bad


def parse_jsonl(body: bytes, id_field: str = "id", text_field: str = "text") -> tuple[list[tuple[str, str]], int]:
    return prompt_pairs(source_rows(body, "jsonl"), id_field, text_field)


def parse_parquet(body: bytes, id_field: str = "id", text_field: str = "text") -> tuple[list[tuple[str, str]], int]:
    table_fields = pq.read_schema(io.BytesIO(body)).names
    if text_field not in table_fields:
        raise ValueError(f"the Parquet file has no column {text_field!r} (it has {', '.join(table_fields)})")
    return prompt_pairs(source_rows(body, "parquet"), id_field, text_field)


def expand_template(template: PromptTemplate) -> list[tuple[str, str]]:
    # Slots vary in the order they appear in the template, the last fastest.
    names = list(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(template.template) if name))
    missing = [name for name in names if name not in template.slots]
    if missing:
        raise ValueError(f"template {template.id!r} has slots with no values: {', '.join(missing)}")
    pairs: list[tuple[str, str]] = []
    for values in itertools.product(*(template.slots[name] for name in names)):
        if template.limit is not None and len(pairs) >= template.limit:
            break
        text = template.template.format(**dict(zip(names, values)))
        pairs.append((f"{template.id}-{text_id(text)}", text))
    return pairs


def source_format(job: DistillJob) -> str:
    if job.prompts_format != "auto":
        return job.prompts_format
    return "parquet" if job.prompts_uri.endswith((".parquet", ".pq")) else "jsonl"


def load_prompts(job: DistillJob, store: ArtifactStore) -> tuple[list[tuple[str, str]], int]:
    """Every prompt of the job once (the first of a repeated id wins), in source order; and how many
    source rows were unusable."""
    pairs: list[tuple[str, str]] = []
    bad = 0
    if job.prompts_uri:
        body = store.get_bytes(job.prompts_uri)
        parse = parse_parquet if source_format(job) == "parquet" else parse_jsonl
        pairs, bad = parse(body, job.id_field, job.text_field)
    for template in job.templates:
        pairs += expand_template(template)
    unique: dict[str, str] = {}
    for prompt_id, text in pairs:
        unique.setdefault(prompt_id, text)
    return list(unique.items()), bad


def load_prompt_column(job: DistillJob, store: ArtifactStore, column: str) -> dict[str, str]:
    """A column of the prompt file by prompt id (rows where it is empty are left out)."""
    if not column or not job.prompts_uri:
        return {}
    values: dict[str, str] = {}
    for row in source_rows(store.get_bytes(job.prompts_uri), source_format(job)):
        text = row.get(job.text_field) if row is not None else None
        value = row.get(column) if row is not None else None
        if row is not None and isinstance(text, str) and value not in (None, ""):
            values.setdefault(row_id(row, job.id_field, text), str(value))
    return values


def load_gold_labels(job: DistillJob, store: ArtifactStore) -> dict[str, str]:
    """Gold labels (or gold answers) by prompt id, from the prompt file's `label_field` (when the job
    names one). The curator joins them to the teacher's answers; they are never sent to the teacher."""
    return load_prompt_column(job, store, job.label_field)


def load_groups(job: DistillJob, store: ArtifactStore) -> dict[str, str]:
    """Split groups by prompt id, from the prompt file's `group_field`: prompts of one group (say,
    every phrasing about one word) land in one split, so nothing is learnt about a test group."""
    return load_prompt_column(job, store, job.group_field)
