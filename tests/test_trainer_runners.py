"""The trainer's Kubernetes runner against a stand-in for the Kubernetes API (httpx's MockTransport
answering as the API server does), with the real S3 store: it submits the operator's template filled
for the job, follows the object until rank 0's result is in S3 and deletes it; a trainer restarted
while a training runs follows it instead of submitting another; a failed one is reported with the
reason its rank 0 left, and left in place for its logs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import yaml

from services.trainer.runners import KubernetesApi, TrainingFailed, run_on_kubernetes, training_name
from services.trainer.runs import failure_key, progress_key, result_key
from services.trainer.settings import TrainerSettings
from shared.events import DatasetReady, DistillJob, StudentSpec
from tests.test_deploy import worker_template

JOBS = "/apis/batch/v1/namespaces/distillery/jobs"


class ApiServer:
    """What the trainer's calls see: objects by name, and a hook run on every GET (the workers' doing)."""

    def __init__(self, on_get=None) -> None:
        self.objects: dict[str, dict] = {}
        self.calls: list[tuple[str, str]] = []
        self.on_get = on_get

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        name = request.url.path.removeprefix(JOBS).strip("/")
        if request.method == "POST" and request.url.path == JOBS:
            body = json.loads(request.content)
            if body["metadata"]["name"] in self.objects:
                return httpx.Response(409, json={"reason": "AlreadyExists"})
            self.objects[body["metadata"]["name"]] = {**body, "status": {}}
            return httpx.Response(201, json=body)
        if name not in self.objects:
            return httpx.Response(404, json={"reason": "NotFound"})
        if request.method == "GET":
            if self.on_get:
                self.on_get(self.objects[name])
            return httpx.Response(200, json=self.objects[name])
        if request.method == "DELETE":
            assert json.loads(request.content) == {"propagationPolicy": "Background"}
            del self.objects[name]
            return httpx.Response(200, json={})
        return httpx.Response(405)


def a_job(suffix: str) -> tuple[DistillJob, DatasetReady]:
    job = DistillJob(job_id=f"k8s-runner-{suffix}", name="define-words",
                     student=StudentSpec(name="chat-student", kind="causal-lm", workers=2))
    dataset = DatasetReady(job_id=job.job_id, dataset_id="d1", uri="s3://distillery/datasets/d1",
                           manifest_uri="s3://distillery/datasets/d1/manifest.json", counts={"train": 8},
                           dropped={}, classes=[])
    return job, dataset


@pytest.fixture
def settings(tmp_path) -> TrainerSettings:
    template = tmp_path / "worker-template.yaml"
    template.write_text(yaml.safe_dump(worker_template("indexed-job")))
    return TrainerSettings(worker_template=template, poll_s=0.01)


def api_for(server: ApiServer) -> KubernetesApi:
    return KubernetesApi(transport=httpx.MockTransport(server.handle), namespace="distillery")


async def test_a_training_is_submitted_followed_until_its_result_and_deleted(store, settings):
    job, dataset = a_job("ok")
    store.put_json(failure_key(job), {"error": "from an earlier attempt"})  # forgotten on submission
    gets = 0

    def workers(obj: dict) -> None:  # rank 0: an epoch's progress, then the result
        nonlocal gets
        gets += 1
        if gets == 2:
            store.put_json(progress_key(job), {"epoch": 1, "val_agreement": 0.5, "train_loss": 2.0})
        if gets == 3:
            store.put_json(result_key(job), {"version": "1", "uri": "s3://x", "metrics": {}})

    server, relayed = ApiServer(workers), []

    async def on_progress(epoch: int, record: dict) -> None:
        relayed.append(epoch)

    await run_on_kubernetes(settings, store, dataset, job, on_progress, api=api_for(server))
    name = training_name(job)
    assert server.calls[:2] == [("GET", f"{JOBS}/{name}"), ("POST", JOBS)]
    assert server.calls[-1] == ("DELETE", f"{JOBS}/{name}") and not server.objects
    assert relayed == [1] and store.get_optional(failure_key(job)) is None


async def test_a_restarted_trainer_follows_the_training_it_had_submitted(store, settings):
    job, dataset = a_job("restarted")
    first = ApiServer()
    follow = asyncio.create_task(run_on_kubernetes(settings, store, dataset, job, api=api_for(first)))
    while ("POST", JOBS) not in first.calls:
        await asyncio.sleep(0.01)
    follow.cancel()  # the trainer stops; the training goes on
    with pytest.raises(asyncio.CancelledError):
        await follow
    assert training_name(job) in first.objects

    second = ApiServer(lambda obj: store.put_json(result_key(job), {"version": "1", "uri": "s3://x", "metrics": {}}))
    second.objects = first.objects
    await run_on_kubernetes(settings, store, dataset, job, api=api_for(second))
    assert ("POST", JOBS) not in second.calls and not second.objects


async def test_a_failed_training_is_reported_with_its_reason_and_left_for_its_logs(store, settings):
    job, dataset = a_job("failed")

    def fails(obj: dict) -> None:
        store.put_json(failure_key(job), {"error": "ValueError: dataset too small for a generative student"})
        obj["status"] = {"conditions": [{"type": "Failed", "status": "True", "reason": "FailedIndexes"}]}

    server = ApiServer(fails)
    with pytest.raises(TrainingFailed, match="dataset too small"):
        await run_on_kubernetes(settings, store, dataset, job, api=api_for(server))
    assert training_name(job) in server.objects and ("DELETE", f"{JOBS}/{training_name(job)}") not in server.calls


def test_a_trainer_starting_deletes_the_work_of_jobs_killed_before_it(tmp_path, monkeypatch):
    """A job killed with its trainer (OOM, SIGKILL) cannot delete its work folder, and a pod's /tmp
    outlives the container: the next trainer deletes it before it takes a job. A running job's folder
    (another trainer's on the same TMPDIR), and what is not a job's, stay."""
    import subprocess
    import sys
    import tempfile

    from services.trainer.runs import WORK_PREFIX, clear_dead_jobs_work, job_work_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # A job in a process that dies by SIGKILL, its folder and lock left behind.
    script = ("import sys, tempfile, os, signal; tempfile.tempdir = sys.argv[1]\n"
              "from services.trainer.runs import job_work_folder\n"
              "with job_work_folder('job-1') as work:\n"
              "    (work / 'student').mkdir(); print(work, flush=True); os.kill(os.getpid(), signal.SIGKILL)")
    run = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    killed = Path(run.stdout.strip())
    assert run.returncode == -9 and killed.name.startswith(f"{WORK_PREFIX}job-1-") and (killed / "student").is_dir()
    cache = tmp_path / "distillery-trainer"
    cache.mkdir()
    with job_work_folder("job-2") as running:
        assert clear_dead_jobs_work() == [killed]
        assert running.is_dir() and not killed.exists() and cache.exists()
    assert not running.exists()
    assert clear_dead_jobs_work() == []
