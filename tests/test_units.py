"""Unit tests of each service's own logic (no broker, no store)."""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from cli.stack import low_disk_warning
from services.curator.curation import curate, split_of
from shared.events import (
    TOPICS,
    CurationSpec,
    TeacherResponse,
    all_topic_names,
)
from shared.fingerprint import batch_fingerprints, function_word_share, text_minhash, text_sha256
from shared.oip import decode_bytes_tensor, encode_bytes_tensor


def response(seq: int, text: str, error: str | None = None) -> TeacherResponse:
    return TeacherResponse(job_id="job-1", prompt_id=f"p{seq}", seq=seq, total=10, text=text, teacher_model="teacher",
                           classes=["a", "b"], probabilities=None if error else [0.3, 0.7], error=error)


def test_every_consumed_topic_has_a_dead_letter_twin():
    names = all_topic_names()
    for topic in TOPICS:
        assert (f"{topic.name}.dlq" in names) == topic.consumed


def test_bytes_tensor_round_trip_and_truncation():
    items = [b"", "caf\u00e9".encode(), b"x" * 300]
    assert decode_bytes_tensor(encode_bytes_tensor(items)) == items
    with pytest.raises(ValueError, match="truncated"):
        decode_bytes_tensor(encode_bytes_tensor(items)[:-1])


def test_fingerprints_see_exact_and_near_duplicates():
    assert text_sha256("Hello   World") == text_sha256("hello world")
    a = text_minhash("translate the following sentence into French: the cat sat on the mat")
    b = text_minhash("translate the following sentence into French: the dog sat on the mat")
    c = text_minhash("a small domesticated carnivorous mammal with soft fur")
    assert sum(x == y for x, y in zip(a, b)) > sum(x == y for x, y in zip(a, c))


def test_fingerprints_of_a_batch_are_those_of_each_text():
    texts = ["the cat sat on the mat", "", "a", "Gemstone irrevocably footwear rodent covering toes perch",
             "the part of footwear that provides a covering for the toes"]
    assert batch_fingerprints(texts) == [batch_fingerprints([t])[0] for t in texts]
    assert [f["text_minhash"] for f in batch_fingerprints(texts)] == [text_minhash(t) for t in texts]
    assert [f["text_function_words"] for f in batch_fingerprints(texts)] == [function_word_share(t) for t in texts]


def test_curation_drops_by_reason_and_keeps_the_rest():
    rows = [response(0, "a gloss"), response(1, "A  gloss"), response(2, "   "), response(3, "x" * 50),
            response(4, "teacher failed", error="UNAVAILABLE: down"), response(5, "another gloss")]
    curated = curate(rows, CurationSpec(min_chars=1, max_chars=20))
    assert dict(curated.dropped) == {"duplicate": 1, "empty": 1, "oversized": 1, "teacher_error": 1}
    kept = [r.response.prompt_id for rows in curated.splits.values() for r in rows]
    assert sorted(kept) == ["p0", "p5"]


def test_splits_are_stable_and_follow_the_fractions():
    texts = [f"gloss number {i}" for i in range(5000)]
    first = [split_of(t, 0.1, 0.2) for t in texts]
    assert first == [split_of(t, 0.1, 0.2) for t in texts]
    share = {s: first.count(s) / len(texts) for s in ("train", "val", "test")}
    assert abs(share["test"] - 0.2) < 0.03 and abs(share["val"] - 0.1) < 0.03
    # The split depends on the text, not on its position in a job.
    assert split_of("  Gloss NUMBER 7 ", 0.1, 0.2) == first[7]


def test_kd_loss_is_zero_when_the_student_matches_the_teacher():
    torch = pytest.importorskip("torch")
    from services.trainer.training import kd_loss

    teacher = torch.tensor([[0.7, 0.2, 0.1]])
    assert float(kd_loss(torch.log(teacher), teacher, temperature=2.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(kd_loss(torch.tensor([[0.0, 5.0, 0.0]]), teacher, temperature=2.0)) > 0.1


def test_generated_grpc_code_is_fresh():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "scripts.gen_proto", "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_numpy_probabilities_round_trip_through_parquet():
    import io

    import pyarrow.parquet as pq

    from services.curator.curation import Row, to_parquet

    table = pq.read_table(io.BytesIO(to_parquet([Row(response(0, "a gloss"), "a gloss", gold_label="a")])))
    assert table.column("gold_label").to_pylist() == ["a"]
    assert table.column("teacher_label").to_pylist() == ["b"]
    assert np.allclose(table.column("probabilities").to_pylist()[0], [0.3, 0.7])


def test_io_binding_gives_the_same_answers_as_a_plain_run(teacher_dir):
    from shared.textmodel import TextClassifier

    texts = ["a domestic animal that barks", "to walk slowly along a road, looking at the shops"]
    plain = TextClassifier(teacher_dir, device="cpu")
    bound = TextClassifier(teacher_dir, device="cpu", io_binding=True)  # the CUDA path's code, on CPU
    assert not plain.io_binding and bound.io_binding
    assert np.array_equal(plain.predict(texts), bound.predict(texts))


def test_quota_and_enforcement_decisions():
    import grpc

    from services.inference.access import AccessControl, Client, RequestError
    from shared.keys import Enforcement

    access = AccessControl(keys=None, enforcement=None, executor=None, replicas=2)
    steady = Client("steady", rps=4)  # 2 a second on each of 2 replicas, a burst of 2
    assert [_admitted(access, steady) for _ in range(3)] == [True, True, False]
    access.enforced["thief"] = Enforcement(client_id="thief", action="block", alert_id="alert-1", severity="high",
                                           score=0.9, since="now")
    with pytest.raises(RequestError) as info:
        access.admit(Client("thief", rps=None))
    assert info.value.code == grpc.StatusCode.PERMISSION_DENIED and "alert-1" in info.value.message
    access.enforced["noisy"] = Enforcement(client_id="noisy", action="throttle", rps=1, alert_id="alert-2",
                                           severity="medium", score=0.6, since="now")
    assert [_admitted(access, Client("noisy", rps=None)) for _ in range(2)] == [True, False]


def _admitted(access, client) -> bool:
    from services.inference.access import RequestError

    try:
        access.admit(client)
        return True
    except RequestError:
        return False


def test_prompt_rows_filter_and_make_texts_from_fields(tmp_path):
    """A job's prompt file: `where` keeps matching rows, `text_template` makes each text from its
    fields, `limit` counts kept rows, and only the id, text, label and group columns are uploaded."""
    import gzip
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from cli.jobs import PromptRows

    rows = [{"id": f"r{i}", "lemma": f"w{i}", "pos": "noun" if i % 2 else "verb", "gloss": f"g{i}", "secret": "x"}
            for i in range(10)]
    spec = {"where": {"pos": "noun"}, "text_template": "Define '{lemma}'.", "label_field": "gloss",
            "group_field": "lemma", "limit": 3}
    jsonl = tmp_path / "defs.jsonl.gz"
    with gzip.open(jsonl, "wt") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    expected = [{"id": f"r{i}", "text": f"Define 'w{i}'.", "gloss": f"g{i}", "lemma": f"w{i}"} for i in (1, 3, 5)]
    assert PromptRows(spec).jsonl(jsonl) == expected
    parquet = tmp_path / "defs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet)
    assert pq.read_table(pa.BufferReader(PromptRows(spec).parquet(parquet))).to_pylist() == expected
    with pytest.raises(SystemExit, match="sense"):
        PromptRows({"text_template": "{sense}"}).jsonl(jsonl)


def test_a_nearly_full_disk_is_named_before_the_s3_server_turns_read_only(tmp_path, monkeypatch):
    gib = 2**30
    monkeypatch.setattr(shutil, "disk_usage", lambda _: SimpleNamespace(total=250 * gib, used=247 * gib, free=3 * gib))
    warning = low_disk_warning(tmp_path)
    assert warning and "3.0 GiB free" in warning and "2.5 GiB here" in warning and "read only" in warning
    # A test run needs more than the server's floor: the session asks for its own headroom.
    monkeypatch.setattr(shutil, "disk_usage", lambda _: SimpleNamespace(total=250 * gib, used=238 * gib, free=12 * gib))
    assert low_disk_warning(tmp_path) is None
    warning = low_disk_warning(tmp_path, need_bytes=16 * gib)
    assert warning and "12.0 GiB free" in warning and "16 GiB" in warning
    monkeypatch.setattr(shutil, "disk_usage", lambda _: SimpleNamespace(total=250 * gib, used=200 * gib, free=50 * gib))
    assert low_disk_warning(tmp_path) is None
