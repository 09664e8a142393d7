"""Unit tests of each service's own logic (no broker, no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from services.curator.curation import curate, split_of
from services.detector.detection import ClientDetector, DetectorSettings, coverage
from shared.events import (
    TOPICS,
    CurationSpec,
    InferenceRequest,
    TeacherResponse,
    all_topic_names,
)
from shared.fingerprint import hamming, simhash64, text_sha256
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
    a = simhash64("translate the following sentence into French: the cat sat on the mat")
    b = simhash64("translate the following sentence into French: the dog sat on the mat")
    c = simhash64("a small domesticated carnivorous mammal with soft fur")
    assert hamming(a, b) < hamming(a, c)


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


def _event(client: str, top_class: str, i: int, start: datetime) -> InferenceRequest:
    return InferenceRequest(request_id=f"r{i}", client_id=client, model="student", model_version="1",
                            time=start + timedelta(seconds=i), text_sha256="0" * 64, text_simhash="0" * 16,
                            text_chars=20, top_class=top_class, top_probability=0.9, entropy=0.3, n_classes=45)


def test_detector_alerts_on_coverage_not_on_a_niche_and_respects_the_allow_list():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    classes = [f"c{i}" for i in range(45)]
    detector = ClientDetector(DetectorSettings(min_queries=100, allow_clients=frozenset({"our-teacher"})))
    alerts = []
    for i in range(400):
        alerts += [detector.observe(_event("niche", classes[i % 3], i, start))[0]]
        alerts += [detector.observe(_event("thief", classes[i % 45], i, start))[0]]
        alerts += [detector.observe(_event("our-teacher", classes[i % 45], i, start))[0]]
    alerts = [a for a in alerts if a]
    assert [a.client_ids for a in alerts] == [["thief"]]  # opened once, deduplicated after
    alert = alerts[0]
    assert alert.status == "open" and alert.findings[0].detector == "coverage"
    assert alert.findings[0].evidence["queries"] == 100 and alert.score > 0.9


def test_an_open_alerts_severity_never_falls_while_its_score_wobbles():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    classes = [f"c{i}" for i in range(45)]
    detector = ClientDetector(DetectorSettings(min_queries=45, min_classes=1, coverage_threshold=0.0))
    alerts = [detector.observe(_event("thief", classes[i % 45], i, start))[0] for i in range(45)]
    # Then it narrows: its coverage, and so its score, falls far below the critical line.
    alerts += [detector.observe(_event("thief", classes[0], 45 + i, start))[0] for i in range(400)]
    alerts = [a for a in alerts if a]
    assert alerts[0].severity == "critical" and alerts[0].status == "open"
    assert {a.severity for a in alerts} == {"critical"}, [(a.status, a.severity, a.score) for a in alerts]


def test_alerts_resolve_when_the_client_goes_quiet_or_its_window_ends():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    classes = [f"c{i}" for i in range(45)]
    detector = ClientDetector(DetectorSettings(min_queries=45, resolve_after_s=900, window_s=3600))
    opened = [a for a in (detector.observe(_event("thief", classes[i % 45], i, start))[0] for i in range(90)) if a]
    last_seen = start + timedelta(seconds=89)
    assert detector.sweep(last_seen + timedelta(seconds=899)) == []
    (resolved,) = detector.sweep(last_seen + timedelta(seconds=900))
    assert resolved.status == "resolve" and resolved.alert_id == opened[0].alert_id
    assert resolved.client_ids == ["thief"] and detector.sweep(last_seen + timedelta(seconds=2000)) == []
    # Back later: a new alert, not an update of the resolved one.
    later = [a for a in (detector.observe(_event("thief", classes[i % 45], 5000 + i, start))[0] for i in range(45)) if a]
    assert later[0].status == "open" and later[0].alert_id != opened[0].alert_id
    # Its window ends while it keeps going: the old alert is resolved, a new window starts.
    detector.observe(_event("thief", classes[0], 5000 + 3601, start))[0]
    assert [a.alert_id for a in detector.sweep(start + timedelta(seconds=8602))] == [later[0].alert_id]


def test_coverage_is_normalised_entropy():
    assert coverage({"a": 10}, 45) == 0.0
    assert coverage({f"c{i}": 1 for i in range(45)}, 45) == pytest.approx(1.0)


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
