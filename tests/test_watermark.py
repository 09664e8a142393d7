"""Watermarking and ownership verification.

End to end on the embedded stack: a thief distils a student from the real, watermarking inference
service with the project's own training code; `distillery verify` names the student (as an ONNX
folder and served over gRPC) from the thief's ledger in S3; ten students that never saw the API are
not named. Then the pieces: the keyed choice, the exact test, the alert-raised fraction.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from benchmarks.detection import MODEL, ROOT, register_model
from benchmarks.watermark import (
    glosses,
    innocent_students,
    query,
    train_student,
    wait_serving,
)
from cli.verify import OnnxSuspect, verify
from services.inference.access import AccessControl
from services.inference.watermarking import Watermarking
from shared.events import AbuseAlert, AccessChange, utcnow
from shared.keys import EnforcementStore, KeyStore
from shared.registry import ModelRegistry
from shared.watermark import (
    LedgerEntry,
    OwnershipTest,
    entry_is_genuine,
    log_binomial_tail,
    parse_keys,
    read_ledger,
    watermark_class,
)

# A fixed key: which inputs are marked, and so every figure below, is the same on every run.
KEYS = "test-2:" + "b" * 64 + ",test-1:" + "a" * 64


@pytest.fixture(scope="module")
def watermark_stack(stack, store, tmp_path_factory):
    register_model(store)
    with stack.services_up(("inference",), {
            "WATERMARK_KEYS": KEYS, "INFERENCE_WATERMARK_ALLOW_CLIENTS": "verifier",
            "INFERENCE_WATERMARK_LEDGER_FLUSH_S": "1", "INFERENCE_RECONCILE_S": "2",
            "INFERENCE_MODEL_CACHE": str(tmp_path_factory.mktemp("models"))}):
        yield stack


def _ledger(store, client: str, expected_at_least: int, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        entries, summary = read_ledger(store, parse_keys(KEYS), client)
        if len(entries) >= expected_at_least or time.monotonic() > deadline:
            return entries, summary
        time.sleep(0.5)


def _verify_cli(stack, *args: str) -> dict:
    env = {**os.environ, **stack.env(), "WATERMARK_KEYS": KEYS}
    run = subprocess.run([sys.executable, "-m", "cli", "verify", *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr + run.stdout
    out = Path(args[args.index("--out") + 1])
    report = json.loads((out / "report.json").read_text())
    markdown = (out / "report.md").read_text()
    assert f"**Verdict: {report['verdict']}.**" in markdown and "one-sided" in markdown
    assert f"verdict: {report['verdict']}" in run.stdout
    return report


async def test_a_distilled_student_is_named_and_students_without_api_access_are_not(watermark_stack, store, tmp_path):
    url = f"127.0.0.1:{watermark_stack.config.inference_port}"
    keys = KeyStore(store)
    thief_key, verifier_key = (keys.create(name, scopes=("probabilities",)) for name in ("thief", "verifier"))
    await wait_serving(url, verifier_key)
    rows = glosses()
    texts = [r["text"] for r in rows]
    stolen = await query(url, thief_key, texts)
    truth = await query(url, verifier_key, texts)
    classes = json.loads((ModelRegistry(store).download(MODEL, ModelRegistry(store).promoted(MODEL), tmp_path / "api")
                          / "model.json").read_text())["classes"]

    # About 0.5% of the answers were changed, each recorded in the thief's ledger with the answer it got.
    changed = np.flatnonzero(stolen.argmax(1) != truth.argmax(1))
    assert 0.003 < len(changed) / len(texts) < 0.007
    entries, summary = _ledger(store, "thief", len(changed))
    assert {e.text for e in entries} == {texts[i] for i in changed}
    assert summary.rejected == 0 and summary.keys == {"test-2": len(entries)}
    for entry in entries[:20]:
        i = texts.index(entry.text)
        assert classes[stolen[i].argmax()] == entry.answer_class and classes[truth[i].argmax()] == entry.true_class
        # A plausible answer: the model's own probabilities, the top two swapped.
        assert np.allclose(np.sort(stolen[i]), np.sort(truth[i]))
    # The same input gets the same answer again: a retry cannot average the watermark out.
    again = await query(url, thief_key, [texts[i] for i in changed[:50]])
    assert np.array_equal(again, stolen[changed[:50]])

    # The thief distils a student with the project's own training code; verify names it.
    thief = train_student("thief", texts, stolen, classes, tmp_path / "thief")
    report = _verify_cli(watermark_stack, "--onnx", str(thief), "--client", "thief", "--out", str(tmp_path / "r1"))
    assert report["verdict"] == "derived" and report["log10_p_value"] < -9, report
    assert report["queries"] <= 2000 and report["watermark_hits"] > 0.5 * len(entries)
    assert report["ledger"]["distinct_inputs"] == len(entries)

    # The same student served over the Open Inference Protocol (here by our own service, where the
    # verifier is allow-listed so its answers are the model's own).
    registry = ModelRegistry(store)
    version, _ = registry.register("suspect", thief)
    registry.promote("suspect", version)
    await wait_serving(url, verifier_key, model="suspect")
    report = _verify_cli(watermark_stack, "--address", url, "--model", "suspect", "--api-key", verifier_key,
                         "--client", "thief", "--out", str(tmp_path / "r2"))
    assert report["verdict"] == "derived" and report["log10_p_value"] < -9, report

    # Ten students trained without the API (gold labels, or another teacher run locally): never named.
    for folder in innocent_students(rows, classes, tmp_path / "innocents"):
        verification = await verify(OnnxSuspect(folder), entries, summary, alpha=1e-6)
        assert verification.test.p_value > 0.01 and verification.verdict == "no evidence", (folder.name, verification.to_dict())


# ---- the pieces ------------------------------------------------------------------------------------

def test_the_keyed_choice_is_deterministic_normalised_nested_and_uniform_over_the_other_classes():
    new, old = parse_keys(KEYS)
    texts = [f"gloss number {i} about something" for i in range(40_000)]
    chosen = [watermark_class(new, t, 3, 45, 0.005) for t in texts]
    marked = [c for c in chosen if c is not None]
    assert 120 < len(marked) < 280  # 0.5% of 40,000 is 200
    assert 3 not in marked and set(marked) <= set(range(45))
    # Case and spacing do not matter; the same text always gets the same class.
    assert all(watermark_class(new, "  " + t.upper() + " ", 3, 45, 0.005) == c for t, c in zip(texts[:2000], chosen))
    # A larger fraction (a client under alert) keeps every input of the smaller one.
    assert all(watermark_class(new, t, 3, 45, 0.05) == c for t, c in zip(texts, chosen) if c is not None)
    # Uniform over the 44 other classes: a chi-square over 8,000 marked inputs.
    counts = np.bincount([watermark_class(new, t, 0, 45, 1.0) for t in texts[:8000]], minlength=45)
    assert counts[0] == 0
    chi2 = ((counts[1:] - 8000 / 44) ** 2 / (8000 / 44)).sum()
    assert chi2 < 80  # 43 degrees of freedom: p < 0.001 beyond 77
    # Another key chooses other inputs.
    other = [watermark_class(old, t, 3, 45, 0.005) for t in texts]
    assert sum(a is not None and b is not None for a, b in zip(chosen, other)) < 10


def test_keys_parse_with_clear_errors():
    assert [k.key_id for k in parse_keys(KEYS)] == ["test-2", "test-1"]
    for bad in ("nokey", "id:short", "a:" + "x" * 20 + ",a:" + "y" * 20, "bad id:" + "x" * 20):
        with pytest.raises(ValueError, match="WATERMARK_KEYS"):
            parse_keys(bad)


def test_the_binomial_tail_is_exact_far_below_float_range():
    assert math.isclose(math.exp(log_binomial_tail(1, 10, 0.1)), 1 - 0.9 ** 10, rel_tol=1e-12)
    assert math.isclose(math.exp(log_binomial_tail(3, 5, 0.5)), 0.5, rel_tol=1e-12)
    assert log_binomial_tail(0, 10, 0.1) == 0.0 and log_binomial_tail(11, 10, 0.1) == -math.inf
    # 300 hits in 300 tries at 1/44: 10^-493, a number a float cannot hold, as a logarithm.
    assert math.isclose(log_binomial_tail(300, 300, 1 / 44) / math.log(10), 300 * math.log10(1 / 44))
    test = OwnershipTest(queries=100, hits=0, disagreements=30, n_classes=45)
    assert test.p_value == 1.0 and math.isclose(test.null_rate, 0.3 / 44)


def test_watermarked_answers_are_a_swap_and_allow_listed_clients_get_the_truth():
    keys = parse_keys(KEYS)
    marking = Watermarking(keys, fraction=0.3, alerted_fraction=0.6, allow_clients=frozenset({"ours"}))
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=200).astype(np.float32)
    texts = [f"text {i}" for i in range(200)]
    given, marked = marking.apply(texts, probabilities, marking.fraction_for("someone", alerted=False))
    assert 30 < len(marked) < 90 and not np.shares_memory(given, probabilities)
    for row, true, answer in marked:
        assert given[row].argmax() == answer and probabilities[row].argmax() == true
        assert np.array_equal(np.sort(given[row]), np.sort(probabilities[row]))
    unmarked = sorted(set(range(200)) - {row for row, _, _ in marked})
    assert np.array_equal(given[unmarked], probabilities[unmarked])
    assert marking.fraction_for("ours", alerted=True) == 0.0
    assert marking.fraction_for("someone", alerted=True) == 0.6
    assert Watermarking([], 0.005).fraction_for("someone", alerted=True) == 0.0  # no key: off


def test_a_tampered_ledger_entry_is_not_confirmed_by_the_keys():
    new = parse_keys(KEYS)[0]
    text = next(f"t{i}" for i in range(10_000) if watermark_class(new, f"t{i}", 0, 45, 0.005) is not None)
    answer = watermark_class(new, text, 0, 45, 0.005)
    entry = LedgerEntry(client_id="c", model="m", model_version="1", key_id="test-2", fraction=0.005,
                        text_sha256="x", text=text, n_classes=45, true_index=0, true_class="a",
                        answer_index=answer, answer_class="b", time=utcnow())
    keys = {k.key_id: k for k in parse_keys(KEYS)}
    assert entry_is_genuine(entry, keys)
    assert not entry_is_genuine(entry.model_copy(update={"answer_index": (answer % 44) + 1}), keys)
    assert not entry_is_genuine(entry.model_copy(update={"key_id": "test-1"}), keys)
    assert not entry_is_genuine(entry.model_copy(update={"key_id": "gone"}), keys)


async def test_an_open_alert_raises_the_fraction_until_it_resolves_or_is_lifted(store):
    access = AccessControl(KeyStore(store), EnforcementStore(store), ThreadPoolExecutor(1),
                           policy={"low": "none", "medium": "throttle"})

    def alert(status: str, severity: str = "low", alert_id: str = "a1") -> AbuseAlert:
        return AbuseAlert(alert_id=alert_id, status=status, client_ids=["suspicious"], severity=severity, score=0.5,
                          model="m", findings=[], window_start=utcnow(), window_end=utcnow())

    await access.on_alert(alert("open"))  # low: nothing enforced, but more answers watermarked
    assert access.under_alert("suspicious") and "suspicious" not in access.enforced
    await access.on_alert(alert("resolve"))
    assert not access.under_alert("suspicious")
    await access.on_alert(alert("open", "medium", "a2"))
    assert access.under_alert("suspicious") and access.enforced["suspicious"].action == "throttle"
    EnforcementStore(store).lift("suspicious", by="operator")
    await access.on_change(AccessChange(change="enforcement_lifted", client_id="suspicious"))
    assert not access.under_alert("suspicious")
    await access.on_alert(alert("update", "medium", "a2"))  # a replay of the lifted alert
    assert not access.under_alert("suspicious") and "suspicious" not in access.enforced
