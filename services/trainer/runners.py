"""Where the trainer service runs a job's training (TRAINER_RUNNER), when not in its own process:

- `torchrun`: `torchrun --standalone --nproc-per-node <student.workers> -m services.trainer.worker`
  on this machine, tied to this process's life;
- `trainjob` / `job`: a Kubeflow Trainer v2 TrainJob, or an indexed Job running torchrun, made from
  the operator's template (deploy/k8s/components) and submitted through the Kubernetes API with the
  pod's service account.

Either way the workers leave the result in S3 (services.trainer.runs); the service relays their
progress and waits for it. The name of a submitted training is the job's, so a service restarted
while one runs finds it again instead of starting another."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import os
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from services.trainer.runs import failure_key, progress_key, result_key, worker_count
from services.trainer.settings import TrainerSettings
from shared.events import DatasetReady, DistillJob
from shared.store import ArtifactStore

OnProgress = Callable[[int, dict], Awaitable[None]]
SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
RENDEZVOUS_SERVICE, RENDEZVOUS_PORT = "trainer-workers", 29500  # deploy/k8s/components/training-job


class TrainingFailed(Exception):
    """The workers gave up (after torchrun's restarts, or the Job's back-off): the reason says why."""


class Progress:
    """Relays the epochs rank 0 writes to S3 as they come."""

    def __init__(self, store: ArtifactStore, job: DistillJob, on_progress: OnProgress | None) -> None:
        self.store, self.job, self.on_progress, self.epoch = store, job, on_progress, 0

    async def poll(self) -> None:
        body = await asyncio.to_thread(self.store.get_optional, progress_key(self.job))
        record = json.loads(body) if body else None
        if record and record["epoch"] > self.epoch:
            self.epoch = record["epoch"]
            if self.on_progress:
                await self.on_progress(self.epoch, record)


async def failure_reason(store: ArtifactStore, job: DistillJob, otherwise: str) -> str:
    body = await asyncio.to_thread(store.get_optional, failure_key(job))
    return json.loads(body)["error"] if body else otherwise


async def forget_last_attempt(store: ArtifactStore, job: DistillJob) -> None:
    for key in (failure_key(job), progress_key(job)):
        await asyncio.to_thread(store.delete, key)


def worker_env(job: DistillJob, dataset: DatasetReady) -> dict[str, str]:
    return {"TRAINER_JOB_ID": job.job_id, "TRAINER_DATASET_EVENT": dataset.model_dump_json(),
            "TRAINER_WORKERS": str(worker_count(job))}


def _die_with_parent() -> None:
    """torchrun gets SIGTERM (and stops its workers) if the service dies, even by SIGKILL: a restarted
    service then starts the training again, from its checkpoint, without a second one running."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def run_torchrun(settings: TrainerSettings, store: ArtifactStore, dataset: DatasetReady, job: DistillJob,
                       on_progress: OnProgress | None = None) -> None:
    await forget_last_attempt(store, job)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={worker_count(job)}", f"--max-restarts={settings.max_restarts}",
               "-m", "services.trainer.worker"]
    process = await asyncio.create_subprocess_exec(*command, env={**os.environ, **worker_env(job, dataset)},
                                                   preexec_fn=_die_with_parent)
    progress = Progress(store, job, on_progress)
    try:
        while True:
            try:
                code = await asyncio.wait_for(process.wait(), settings.poll_s)
                break
            except TimeoutError:
                await progress.poll()
    finally:
        if process.returncode is None:  # this service is stopping: so do the workers
            process.terminate()
            await process.wait()
    await progress.poll()
    if code != 0:
        raise TrainingFailed(await failure_reason(store, job, f"torchrun exited with status {code}"))


# ---- Kubernetes --------------------------------------------------------------------------------------

def training_name(job: DistillJob) -> str:
    """A DNS label of at most 52 characters (an indexed Job's pods add '-<index>-<suffix>')."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{job.job_id}-{job.student.name}".lower()).strip("-")[:32].strip("-")
    digest = hashlib.sha256(f"{job.job_id}/{job.student.name}".encode()).hexdigest()[:8]
    return f"distill-{slug}-{digest}"


def worker_object(template: dict, job: DistillJob, dataset: DatasetReady) -> dict:
    """The operator's TrainJob or Job template, made this job's: its name, its worker count, and what
    each worker is told (services.trainer.worker)."""
    made = copy.deepcopy(template)
    name = training_name(job)
    made.setdefault("metadata", {})["name"] = name
    made["metadata"].pop("namespace", None)
    made["metadata"].setdefault("labels", {})["distillery.io/job-id"] = name.removeprefix("distill-")
    env = worker_env(job, dataset)
    workers = worker_count(job)
    if made.get("kind") == "TrainJob":
        trainer = made["spec"].setdefault("trainer", {})
        trainer["numNodes"] = workers
        container_env = trainer.setdefault("env", [])
    elif made.get("kind") == "Job":
        made["spec"].update(completions=workers, parallelism=workers)
        env["TRAINER_RDZV_ENDPOINT"] = f"{name}-0.{RENDEZVOUS_SERVICE}:{RENDEZVOUS_PORT}"
        container_env = made["spec"]["template"]["spec"]["containers"][0].setdefault("env", [])
    else:
        raise ValueError(f"a worker template is a TrainJob or a Job, not {made.get('kind')!r}")
    container_env[:] = [e for e in container_env if e.get("name") not in env]
    container_env.extend({"name": k, "value": v} for k, v in env.items())
    return made


def failed_condition(obj: dict) -> str | None:
    """Why a TrainJob or Job failed, when its status says it did."""
    for condition in obj.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == "Failed" and condition.get("status") == "True":
            return f"{obj['kind']} {obj['metadata']['name']} failed: {condition.get('reason', '')} " \
                   f"{condition.get('message', '')}".strip()
    return None


class KubernetesApi:
    """The few calls the trainer makes, with the pod's service account (in-cluster configuration)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, namespace: str | None = None) -> None:
        host, port = os.environ.get("KUBERNETES_SERVICE_HOST", ""), os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if transport is None and not host:
            raise RuntimeError("TRAINER_RUNNER=trainjob/job needs the Kubernetes API: run the trainer in a cluster "
                               "with the distributed-training component (its service account), or use torchrun")
        token_file = SERVICE_ACCOUNT / "token"
        token = token_file.read_text().strip() if token_file.exists() else ""
        self.namespace = namespace or (SERVICE_ACCOUNT / "namespace").read_text().strip()
        verify: Any = str(SERVICE_ACCOUNT / "ca.crt") if (SERVICE_ACCOUNT / "ca.crt").exists() else True
        self.client = httpx.AsyncClient(base_url=f"https://{host or 'kubernetes'}:{port}", transport=transport,
                                        verify=verify, timeout=30.0,
                                        headers={"Authorization": f"Bearer {token}"} if token else {})

    def path(self, obj: dict, name: str = "") -> str:
        group = "api" if "/" not in obj["apiVersion"] else "apis"
        return f"/{group}/{obj['apiVersion']}/namespaces/{self.namespace}/{obj['kind'].lower()}s" + \
            (f"/{name}" if name else "")

    async def create(self, obj: dict) -> bool:
        """True when created; False when it already exists (submitted before this service restarted)."""
        response = await self.client.post(self.path(obj), json=obj)
        if response.status_code == 409:
            return False
        response.raise_for_status()
        return True

    async def get(self, obj: dict) -> dict | None:
        response = await self.client.get(self.path(obj, obj["metadata"]["name"]))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    async def delete(self, obj: dict) -> None:
        response = await self.client.request("DELETE", self.path(obj, obj["metadata"]["name"]),
                                             json={"propagationPolicy": "Background"})
        if response.status_code != 404:
            response.raise_for_status()

    async def aclose(self) -> None:
        await self.client.aclose()


async def run_on_kubernetes(settings: TrainerSettings, store: ArtifactStore, dataset: DatasetReady, job: DistillJob,
                            on_progress: OnProgress | None = None, api: KubernetesApi | None = None) -> None:
    template = yaml.safe_load(settings.worker_template.read_text())
    obj = worker_object(template, job, dataset)
    api = api or KubernetesApi()
    progress = Progress(store, job, on_progress)
    try:
        if await api.get(obj) is None:
            await forget_last_attempt(store, job)
            await api.create(obj)
        while True:
            if await asyncio.to_thread(store.exists, result_key(job)):
                break
            current = await api.get(obj)
            if current is None:
                raise TrainingFailed(f"{obj['kind']} {obj['metadata']['name']} was deleted before it finished")
            reason = failed_condition(current)
            if reason:
                raise TrainingFailed(await failure_reason(store, job, reason))
            await progress.poll()
            await asyncio.sleep(settings.poll_s)
        await progress.poll()
        await api.delete(obj)  # a failed one stays, with its pods' logs, until its ttlSecondsAfterFinished
    finally:
        await api.aclose()
