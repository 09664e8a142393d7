"""One worker of tests/test_distributed_training.py, started by torchrun: trains the narrow student-lm
of tests/test_student_lm.py through the trainer's own distributed path (services.trainer.distributed,
train_student_lm), with its checkpoints in a folder, as the trainer's worker keeps them in S3.

    torchrun --nproc-per-node N tests/torchrun_student.py OUT TEACHER_LM_DIR

With KILL_RANK=r, worker r kills itself with SIGKILL as its second epoch ends, on the first attempt
only (torchrun's restarts count up TORCHELASTIC_RESTART_COUNT)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from safetensors.torch import save_file

from services.trainer.checkpoint import dumps, loads
from services.trainer.distributed import join, leave
from services.trainer.student_lm import LMTraining, examples_from_rows, train_student_lm
from shared.generation import ChatFormat
from tests.test_student_lm import curated_rows, narrow_teacher

# 7 answers in global batches of 3: shares of 2 and 1, then a last batch one worker has no share of.
CONFIG = LMTraining(layers=2, epochs=3, batch_size=3, learning_rate=3e-3, train_embeddings=True)


def main() -> None:
    out, teacher_dir = Path(sys.argv[1]), Path(sys.argv[2])
    workers = join("gloo")
    attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
    chat = ChatFormat(teacher_dir)
    examples, _ = examples_from_rows(curated_rows(chat)[:7], chat)
    checkpoint = out / "checkpoint.safetensors"
    state = loads(checkpoint.read_bytes()) if checkpoint.exists() else None
    if workers.main:
        with (out / "attempts.jsonl").open("a") as f:
            f.write(json.dumps({"attempt": attempt, "world": workers.world,
                                "resumed_after_epoch": state["epoch"] if state else None}) + "\n")

    def save(training_state: dict) -> None:
        tmp = checkpoint.with_suffix(".tmp")
        tmp.write_bytes(dumps(training_state))
        os.replace(tmp, checkpoint)  # whole or not at all, as an S3 put

    def on_epoch(record: dict) -> None:
        if attempt == 0 and record["epoch"] == 2 and workers.rank == int(os.environ.get("KILL_RANK", "-1")):
            os.kill(os.getpid(), signal.SIGKILL)

    student, history = train_student_lm(narrow_teacher(chat), CONFIG, examples, examples[:4], chat.pad_token_id,
                                        on_epoch=on_epoch, state=state, workers=workers,
                                        on_checkpoint=save if workers.main else None)
    if workers.main:
        save_file({k: v.contiguous() for k, v in student.state_dict().items()}, str(out / "student.safetensors"))
        (out / "history.json").write_text(json.dumps({"steps": history.steps, "epochs": history.epochs}))
    leave()


if __name__ == "__main__":
    main()
