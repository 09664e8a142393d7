"""teacher-lm as built: its ONNX graph generates what transformers generates, and serving it needs
neither torch nor transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_onnx_greedy_tokens_and_logits_match_transformers(teacher_lm_dir):
    from services.trainer.teacher_lm import LOGIT_TOLERANCE, PARITY_PROMPTS, check_parity, load_hf_teacher

    hf_model, _ = load_hf_teacher()
    parity = check_parity(hf_model, teacher_lm_dir)  # raises ParityError on any difference
    assert parity["prompts"] == len(PARITY_PROMPTS) and parity["greedy_mismatches"] == 0
    assert parity["max_abs_logit_diff"] < LOGIT_TOLERANCE


def test_batched_decoding_gives_each_sequence_what_it_gets_alone(teacher_lm_dir):
    """Left padding, rows joining and leaving: a batch of prompts of different lengths decodes each
    one as it decodes alone."""
    import threading

    from shared.generation import Engine, LanguageModel, SamplingParams, Sequence

    lm = LanguageModel(teacher_lm_dir, device="cpu")
    prompts = ["Hi", "Define the word 'harbor' in one sentence.", "Write a haiku about the sea, please, in English."]
    ids = [lm.encode(lm.render_chat([{"role": "user", "content": p}])) for p in prompts]
    alone = [lm.greedy(p, 12)[0] for p in ids]
    engine = Engine(lm, max_batch=3, max_prefill_tokens=1)  # one prompt a step: rows join a running batch
    engine.start()
    outputs: dict[int, list[int]] = {}
    done = threading.Semaphore(0)
    for i, (p, n) in enumerate(zip(ids, (12, 5, 12), strict=True)):
        seq = Sequence(p, SamplingParams(max_tokens=n, temperature=0.0), lambda step: None)

        def emit(step, i=i, seq=seq) -> None:
            if step.finish_reason:
                outputs[i] = list(seq.generated)
                done.release()

        seq.emit = emit
        engine.submit(seq)
    for _ in ids:
        assert done.acquire(timeout=120)
    engine.stop()
    eos = lm.eos_token_ids
    assert outputs[0] == [t for t in alone[0] if t not in eos][:12]
    assert outputs[1] == [t for t in alone[1] if t not in eos][:5]  # left the batch early
    assert outputs[2] == [t for t in alone[2] if t not in eos][:12]


def test_serving_imports_neither_torch_nor_transformers():
    code = ("import sys, shared.generation, services.inference.generative, services.inference.openai_api, "
            "services.inference.oip_generate; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
