"""The inference service as Triton users call it: tritonclient's gRPC client, unchanged, in its own
process (tests/triton_user.py), against the service in process on the real S3 server and broker with
the real teacher model."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from shared.oip import OipClient

pytestmark = pytest.mark.stack
TRITON_USER = Path(__file__).with_name("triton_user.py")


async def triton_calls(served, calls: list[dict], key: str | None = None) -> list[dict]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(TRITON_USER), served["url"], key or served["key"],
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(json.dumps(calls).encode()), 120)
    assert process.returncode == 0, err.decode()[-2000:]
    return json.loads(out)


async def test_server_and_model_metadata(served):
    version = served["servicer"].repository.serving["teacher"]
    live, ready, model_ready, no_version, no_model, server, meta = await triton_calls(served, [
        {"call": "server_live"}, {"call": "server_ready"}, {"call": "model_ready", "model": "teacher"},
        {"call": "model_ready", "model": "teacher", "version": "999"},
        {"call": "model_ready", "model": "no-such-model"},
        {"call": "server_metadata"}, {"call": "model_metadata", "model": "teacher"},
    ])
    assert live["value"] and ready["value"] and model_ready["value"]
    assert not no_version["value"] and not no_model["value"]
    assert server["value"]["name"] == "distillery-inference"
    assert "onnxruntime:CPUExecutionProvider" in server["value"]["extensions"]  # the provider really used
    meta = meta["value"]
    assert meta["platform"] == "onnxruntime_onnx" and version in meta["versions"]
    assert [(i["name"], i["datatype"]) for i in meta["inputs"]] == [("TEXT", "BYTES")]
    probabilities = next(o for o in meta["outputs"] if o["name"] == "PROBABILITIES")
    # The class names travel in a metadata parameter Triton's proto lacks; a Triton user gets them
    # from the classification extension instead (next test).
    assert probabilities["datatype"] == "FP32" and probabilities["shape"] == ["-1", "45"]


async def test_infer_with_a_version_selected_outputs_and_classification(served):
    version = served["servicer"].repository.serving["teacher"]
    texts = ["a domestic animal that barks", "to travel on foot"]
    full, labels, top = await triton_calls(served, [
        {"call": "infer", "model": "teacher", "texts": texts},
        {"call": "infer", "model": "teacher", "texts": texts, "version": version, "request_id": "triton-1",
         "outputs": [{"name": "LABEL"}]},
        {"call": "infer", "model": "teacher", "texts": texts, "outputs": [{"name": "PROBABILITIES", "class_count": 3}]},
    ])
    probabilities = np.array(full["outputs"]["PROBABILITIES"])
    assert probabilities.shape == (2, 45) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-4)
    assert labels["id"] == "triton-1" and labels["model_version"] == version
    assert labels["outputs"] == {"LABEL": ["noun.animal", "verb.motion"]}
    # Triton's classification extension: "<probability>:<index>:<label>", best first.
    for row, items in enumerate(top["outputs"]["PROBABILITIES"]):
        parsed = [item.split(":") for item in items]
        assert [int(i) for _, i, _ in parsed] == list(np.argsort(-probabilities[row])[:3])
        assert abs(float(parsed[0][0]) - probabilities[row].max()) < 1e-5
    assert top["outputs"]["PROBABILITIES"][0][0].endswith(":noun.animal")


async def test_a_key_without_the_probabilities_scope_sees_a_label_and_score_model(served, store):
    """By default a key gets less than the whole vector: the model it sees has LABEL and SCORE, as
    the protocol's 'every output when none is named' says; asking for PROBABILITIES is refused with
    a status that says how to get it."""
    from shared.keys import KeyStore

    key = await asyncio.to_thread(KeyStore(store).create, "label-only")
    meta, plain_call, asked = await triton_calls(served, [
        {"call": "model_metadata", "model": "teacher"},
        {"call": "infer", "model": "teacher", "texts": ["a domestic animal that barks"]},
        {"call": "infer", "model": "teacher", "texts": ["x"], "outputs": [{"name": "PROBABILITIES", "class_count": 3}]},
    ], key=key)
    assert [o["name"] for o in meta["value"]["outputs"]] == ["LABEL", "SCORE"]
    assert set(plain_call["outputs"]) == {"LABEL", "SCORE"}
    assert plain_call["outputs"]["LABEL"] == ["noun.animal"] and 0 < plain_call["outputs"]["SCORE"][0] <= 1
    assert not asked["ok"] and asked["status"] == "StatusCode.PERMISSION_DENIED"
    assert "'probabilities' scope" in asked["message"] and "--scope probabilities" in asked["message"]


ERRORS = [
    ({"model": "gpt-9"}, "NOT_FOUND", "not served here; served models:"),
    ({"version": "42"}, "NOT_FOUND", "no version '42'"),
    ({"call": "model_metadata", "model": "gpt-9"}, "NOT_FOUND", "not served here"),
    ({"input_name": "INPUT0"}, "INVALID_ARGUMENT", "has no input 'INPUT0'"),
    ({"datatype": "FP32"}, "INVALID_ARGUMENT", "must be BYTES"),
    ({"texts": ["x", "y"], "shape": [1, 2]}, "INVALID_ARGUMENT", "shape [N] or [N, 1]"),
    ({"outputs": [{"name": "EMBEDDING"}]}, "INVALID_ARGUMENT", "no output 'EMBEDDING'"),
    ({"outputs": [{"name": "LABEL", "class_count": 2}]}, "INVALID_ARGUMENT", "'classification' applies to 'PROBABILITIES'"),
    ({"outputs": [{"name": "PROBABILITIES", "class_count": 46}]}, "INVALID_ARGUMENT", "from 1 to 45"),
    ({"texts": ["x"] * 65}, "RESOURCE_EXHAUSTED", "at most 64 texts"),
    ({"auth": False}, "UNAUTHENTICATED", "missing API key"),
]


async def test_each_error_reaches_tritonclient_with_its_status_and_an_actionable_message(served):
    calls = [{"call": "infer", "model": "teacher", "texts": ["x"], **call} for call, _, _ in ERRORS]
    results = await triton_calls(served, calls)
    for (call, status, fragment), result in zip(ERRORS, results):
        assert not result["ok"], call
        assert result["status"] == f"StatusCode.{status}" and fragment in result["message"], (call, result)


async def test_a_deadline_is_honoured_and_the_expired_request_is_not_computed(served):
    batcher = served["servicer"].repository.get("teacher").batcher
    slow = ["a long gloss that takes the model a while to read " * 10] * 64
    async with OipClient(served["url"], served["key"], timeout_s=120) as ours:
        for late in ({"client_timeout": 0.05}, {"timeout": 50_000}):  # gRPC deadline; Triton's queue timeout (us)
            before_texts = batcher.stats.texts
            # Keep the model busy for the whole client run, so the short-deadline request must queue.
            stop = asyncio.Event()

            async def keep_busy(stop: asyncio.Event = stop) -> None:
                while not stop.is_set():
                    await ours.infer("teacher", slow)

            busy = [asyncio.create_task(keep_busy()) for _ in range(3)]
            await asyncio.sleep(0.3)
            (result,) = await triton_calls(served, [{"call": "infer", "model": "teacher", "texts": ["too late"], **late}])
            stop.set()
            await asyncio.gather(*busy)
            assert not result["ok"] and result["status"] == "StatusCode.DEADLINE_EXCEEDED", result
            computed = batcher.stats.texts - before_texts
            assert computed % 64 == 0, "the expired one-text request was computed anyway"
