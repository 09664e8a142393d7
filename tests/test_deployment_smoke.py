"""Every Deployment of the rendered dev overlay, started the way Kubernetes starts it.

For each Deployment: its container command, with exactly the environment its manifest gives it
(ConfigMap and Secret references resolved from the rendered manifests; the broker and S3 hosts and
credentials pointed at the embedded stack), in the project root as the image's WORKDIR. The
readiness probe's port must answer gRPC health SERVING, every declared port must answer its
protocol, and every variable must be one the service reads. Whatever a manifest names that the code
does not honour is named in the failure.

The services run one at a time: each Deployment's ports are fixed by its manifest.
"""

from __future__ import annotations

import base64
import math
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cli.stack import port_in_use
from scripts.gen_config_docs import SERVICE_SETTINGS, read_by_name, service_variables
from shared.health import health_status as shared_health_status
from shared.settings import LIBRARY_VARIABLES
from tests.test_deploy import build

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parent.parent
# What the image itself provides (Dockerfile ENV): the interpreter on PATH, a writable HOME.
IMAGE_PATH = f"{Path(sys.executable).parent}{os.pathsep}{os.defpath}"
# Where the cluster's hosts and credentials are replaced by the embedded stack's.
LOCAL = ("KAFKA_BOOTSTRAP_SERVERS", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "S3_BUCKET", "WATERMARK_KEYS")
# What a service cannot do without in a cluster: its defaults point at localhost.
REQUIRED = ("KAFKA_BOOTSTRAP_SERVERS", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY")
DOCS = build("dev")
DEPLOYMENTS = {d["metadata"]["name"]: d for d in DOCS if d["kind"] == "Deployment"}


def _source(kind: str, name: str, docs: list[dict] = DOCS) -> dict[str, str] | None:
    doc = next((d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name), None)
    if doc is None:
        return None
    if kind == "Secret":
        data = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
        return {**data, **(doc.get("stringData") or {})}
    return dict(doc.get("data") or {})


def _cpus(quantity: str | int | float) -> float:
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def container_env(container: dict, docs: list[dict] = DOCS) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(variable -> value, variable -> where it came from, problems), as the kubelet resolves them
    from the rendered `docs`."""
    env: dict[str, str] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
    for ref in container.get("envFrom", []):
        kind, body = ("ConfigMap", ref["configMapRef"]) if "configMapRef" in ref else ("Secret", ref["secretRef"])
        data = _source(kind, body["name"], docs)
        if data is None:
            if not body.get("optional"):
                problems.append(f"envFrom names {kind} {body['name']!r}, which the overlay does not define")
            continue
        for key, value in data.items():
            env[key], origin[key] = value, f"{kind} {body['name']}"
    for item in container.get("env", []):
        name = item["name"]
        if "value" in item:
            env[name], origin[name] = str(item["value"]), "env"
            continue
        source = item.get("valueFrom", {})
        if "resourceFieldRef" in source:  # the kubelet rounds the quantity / divisor up
            field = source["resourceFieldRef"]
            section, resource = field["resource"].split(".")
            quantity = container.get("resources", {}).get(section, {}).get(resource)
            if quantity is None:
                problems.append(f"{name}: the container has no resources.{field['resource']}")
                continue
            env[name], origin[name] = str(math.ceil(_cpus(quantity) / _cpus(field.get("divisor", "1")))), "env"
            continue
        kind, ref = (("Secret", source["secretKeyRef"]) if "secretKeyRef" in source
                     else ("ConfigMap", source.get("configMapKeyRef", {})))
        data = _source(kind, ref.get("name", ""), docs)
        if data is None or ref.get("key") not in data:
            if not ref.get("optional"):
                problems.append(f"{name}: {kind} {ref.get('name')!r} has no key {ref.get('key')!r}")
            continue
        env[name], origin[name] = data[ref["key"]], "env"
    return env, origin, problems


def unknown_variables(service: str, env: dict[str, str], origin: dict[str, str]) -> list[str]:
    """Variables the manifest sets that the service does not read. A shared ConfigMap may carry
    another service's variables; a container's own `env` may not."""
    everyone = set(LIBRARY_VARIABLES)
    for other in SERVICE_SETTINGS:
        everyone |= set(service_variables(other)) | set(read_by_name(other))
    own = set(service_variables(service)) | set(read_by_name(service)) | set(LIBRARY_VARIABLES)
    problems = []
    for name in sorted(env):
        known = own if origin[name] == "env" else everyone
        if name not in known:
            problems.append(f"{name} (from {origin[name]}) is read by no settings of {service}")
    return problems


def health_status(port: int) -> str:
    return shared_health_status(f"127.0.0.1:{port}")


def metrics_answer(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_the_overlay_has_the_five_services():
    assert set(DEPLOYMENTS) == set(SERVICE_SETTINGS)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_a_deployment_starts_as_written_and_answers_its_probes(name, stack, tmp_path):
    (container,) = DEPLOYMENTS[name]["spec"]["template"]["spec"]["containers"]
    env, origin, problems = container_env(container)
    problems += [f"{v} is not set: the service would look for it on localhost" for v in REQUIRED if v not in env]
    problems += unknown_variables(name, env, origin)
    local = stack.env()
    env.update({k: local[k] for k in LOCAL if k in env})

    command = [*container.get("command", []), *container.get("args", [])]
    if command[:1] != ["python"]:
        problems.append(f"command {command} does not start with the image's `python`")
    probe = container["readinessProbe"]
    if "grpc" not in probe:
        problems.append(f"readiness probe {probe} is not a gRPC probe")
    probe_port = probe.get("grpc", {}).get("port")
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    if probe_port not in ports.values():
        problems.append(f"readiness probe port {probe_port} is not a declared container port")
    unknown_ports = sorted(set(ports) - {"grpc", "health", "metrics", "http"})
    problems += [f"port {p!r} ({ports[p]}): no protocol this test knows" for p in unknown_ports]
    busy = [f"{p} ({n})" for n, p in ports.items() if port_in_use("0.0.0.0", p)]
    assert not busy, f"{name}: ports already in use on this machine: {', '.join(busy)}"
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)

    log = tmp_path / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, *command[1:]], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                env={"PATH": IMAGE_PATH, "HOME": str(tmp_path), **env}, start_new_session=True)
    try:
        status, give_up = "NOT_STARTED", time.monotonic() + 300  # a bound for a hung start, not a speed goal
        while status != "SERVING":
            if time.monotonic() > give_up:
                pytest.fail(f"{name}: its probe never answered SERVING (last: {status}); its log ends:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            if proc.poll() is not None:
                pytest.fail(f"{name} exited ({proc.returncode}) before its probe answered; its log ends:\n"
                            f"{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
            status = health_status(probe_port)
        answers = {}
        for port_name, port in ports.items():
            if port_name == "metrics":
                text = metrics_answer(port)
                answers[port_name] = "# HELP" in text
                if int(env.get("INFERENCE_PROCESSES", "1")) > 1:  # every serving process, in one scrape
                    answers["metrics of every process"] = f'process="{int(env["INFERENCE_PROCESSES"]) - 1}"' in text
            elif port_name == "http":  # the OpenAI-compatible API's health endpoint
                answers[port_name] = http_ready(port)
            else:
                answers[port_name] = health_status(port) == "SERVING"
        assert all(answers.values()), f"{name}: ports that did not answer: {[p for p, ok in answers.items() if not ok]}"
    finally:
        stop(proc)


def http_ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_a_variable_port_or_reference_the_code_does_not_honour_is_named():
    (container,) = DEPLOYMENTS["teacher"]["spec"]["template"]["spec"]["containers"]
    broken = {**container, "env": [*container.get("env", []), {"name": "TEACHER_WORKERZ", "value": "8"},
                                   {"name": "X", "valueFrom": {"secretKeyRef": {"name": "nowhere", "key": "X"}}}]}
    env, origin, problems = container_env(broken)
    assert problems == ["X: Secret 'nowhere' has no key 'X'"]
    assert unknown_variables("teacher", env, origin) == ["TEACHER_WORKERZ (from env) is read by no settings of teacher"]
    # Another service's variable in the shared ConfigMap is fine; in a container's own env it is not.
    assert unknown_variables("curator", {"DETECTOR_TARGET_FPR": "0.01"}, {"DETECTOR_TARGET_FPR": "ConfigMap c"}) == []
    assert unknown_variables("curator", {"DETECTOR_TARGET_FPR": "0.01"}, {"DETECTOR_TARGET_FPR": "env"})


# What each kind of worker pod is given besides its template's env: an indexed Job's pods their index,
# a TrainJob's the torch plugin's PET_* (one node, one process; the master is the first node's pod).
POD_ENV = {"Job": lambda port: {"JOB_COMPLETION_INDEX": "0"},
           "TrainJob": lambda port: {"PET_NNODES": "1", "PET_NPROC_PER_NODE": "1", "PET_NODE_RANK": "0",
                                     "PET_MASTER_ADDR": "127.0.0.1", "PET_MASTER_PORT": str(port)}}


@pytest.mark.parametrize("overlay", ["indexed-job", "kubeflow-trainer"])
def test_a_training_worker_starts_as_its_template_says_and_reports_a_failure(overlay, stack, store, tmp_path):
    """The worker template as the trainer submits it (services.trainer.runners.worker_object), one
    worker, run the way its pod runs it: its command through torchrun, with exactly its environment,
    the cluster's hosts replaced by the embedded stack's and the rendezvous on this machine. Its job's
    dataset is not there: the workers must reach S3, leave the reason for the trainer and give up after
    torchrun's restarts."""
    import re
    import socket

    from services.trainer.runners import worker_object
    from services.trainer.runs import failure_key
    from services.trainer.worker import WorkerAssignment
    from shared.events import DatasetReady, DistillJob, StudentSpec
    from tests.test_deploy import worker_pod, worker_template

    job = DistillJob(job_id=f"smoke-{overlay}", name="smoke",
                     student=StudentSpec(name="chat-student", kind="causal-lm", workers=1))
    dataset = DatasetReady(job_id=job.job_id, dataset_id="absent", uri=store.uri(f"datasets/{job.job_id}/absent"),
                           manifest_uri=store.uri(f"datasets/{job.job_id}/absent/manifest.json"), counts={},
                           dropped={}, classes=[])
    store.put_json(f"jobs/{job.job_id}/job.json", job.model_dump(mode="json"))
    made = worker_object(worker_template(overlay), job, dataset)
    _, _, container, env_list = worker_pod(made)
    env, _, problems = container_env({**container, "env": env_list}, build(overlay))
    command = [*container.get("command", []), *container.get("args", [])]
    read = (set(service_variables("trainer")) | set(LIBRARY_VARIABLES)
            | {f"TRAINER_{name.upper()}" for name in WorkerAssignment.model_fields}
            | set(re.findall(r"\$\((\w+)\)", " ".join(command))))
    # A TrainJob has no envFrom: its template names each key of the shared ConfigMap and Secret, which
    # may be another service's; a value of its own must be one the worker reads.
    own = {item["name"] for item in env_list if "value" in item}
    problems += [f"{name} is read by neither the worker nor its command" for name in sorted(own) if name not in read]
    assert not problems, "\n".join(problems)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    local = stack.env()
    env.update({k: local[k] for k in LOCAL if k in env})
    env.update(POD_ENV[made["kind"]](port))
    if "TRAINER_RDZV_ENDPOINT" in env:
        env["TRAINER_RDZV_ENDPOINT"] = f"127.0.0.1:{port}"
    env["TRAINER_CACHE_DIR"] = str(tmp_path / "cache")
    # The kubelet expands $(VAR) in the command from the container's environment.
    command = [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), part) for part in command]
    assert command[0] == "torchrun", command
    run = subprocess.run(command, cwd=ROOT, env={"PATH": IMAGE_PATH, "HOME": str(tmp_path), **env},
                         capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    failure = store.get_optional(failure_key(job))
    assert failure is not None, run.stderr[-3000:]
    assert "absent" in failure.decode(), failure
