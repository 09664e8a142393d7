"""The trainer under torchrun (gloo, on CPU): one worker and two train the same student at the same
global batch and seed, and a two-worker run that loses a worker to SIGKILL is restarted by torchrun,
resumes from its last checkpoint and ends where the uninterrupted run did. The workers are real
processes started by torchrun (tests/torchrun_student.py) running the trainer's own training loop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parent.parent
# float32 gradients summed in another order by gloo: the two runs agree to rounding, not to the bit.
LOSS_RTOL, WEIGHT_ATOL = 1e-4, 1e-4


def torchrun(out: Path, teacher_lm_dir: Path, workers: int, **env: str) -> dict:
    out.mkdir(parents=True)
    tmp = out / "tmp"  # torchrun's own folders (torchelastic_*) stay there, not in /tmp
    tmp.mkdir()
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={workers}",
               "--max-restarts=1", str(ROOT / "tests/torchrun_student.py"), str(out), str(teacher_lm_dir)]
    run = subprocess.run(command, env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp), **env},
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    attempts = [json.loads(line) for line in (out / "attempts.jsonl").read_text().splitlines()]
    return {"attempts": attempts, "weights": load_file(str(out / "student.safetensors")),
            **json.loads((out / "history.json").read_text())}


@pytest.fixture(scope="module")
def one_worker(teacher_lm_dir, tmp_path_factory) -> dict:
    return torchrun(tmp_path_factory.mktemp("ddp") / "one", teacher_lm_dir, 1)


def assert_same_training(a: dict, b: dict) -> None:
    assert [s["step"] for s in a["steps"]] == [s["step"] for s in b["steps"]]
    for x, y in zip(a["steps"], b["steps"]):
        assert x["loss"] == pytest.approx(y["loss"], rel=LOSS_RTOL), (x, y)
    for x, y in zip(a["epochs"], b["epochs"]):
        assert x["val_loss"] == pytest.approx(y["val_loss"], rel=LOSS_RTOL)
    assert a["weights"].keys() == b["weights"].keys()
    for name, tensor in a["weights"].items():
        assert torch.allclose(tensor, b["weights"][name], atol=WEIGHT_ATOL), name


def test_two_workers_train_the_student_one_worker_does(one_worker, teacher_lm_dir, tmp_path):
    two = torchrun(tmp_path / "two", teacher_lm_dir, 2)
    assert two["attempts"] == [{"attempt": 0, "world": 2, "resumed_after_epoch": None}]
    assert len(one_worker["steps"]) == 3 * 3  # 3 epochs of 3 global batches, whatever the number of workers
    assert_same_training(one_worker, two)
    assert one_worker["steps"][-1]["loss"] < one_worker["steps"][0]["loss"]


def test_a_worker_killed_mid_training_is_restarted_from_the_checkpoint_and_finishes(one_worker, teacher_lm_dir,
                                                                                     tmp_path):
    killed = torchrun(tmp_path / "killed", teacher_lm_dir, 2, KILL_RANK="1")
    first, second = killed["attempts"]
    assert first == {"attempt": 0, "world": 2, "resumed_after_epoch": None}
    # Rank 1 died as epoch 2 ended: rank 0 had written epoch 1's checkpoint at least (epoch 2's too if
    # it got there before torchrun stopped it); the restarted workers went on from there.
    assert second["attempt"] == 1 and second["world"] == 2 and second["resumed_after_epoch"] in (1, 2)
    assert_same_training(one_worker, killed)
