"""The generative student's training path: examples from a curated dataset's rows (as the curator
writes them), training with both losses, resuming from a checkpoint to the same weights, and the
export through the teacher's path with its parity check. The decoder is a narrow one with
teacher-lm's real vocabulary and chat template, so the text side is the real one and a step is fast;
one test checks the real teacher's torch weights against its ONNX build."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from services.trainer.causal_lm import CausalLM, DecoderConfig
from services.trainer.checkpoint import dumps, loads
from services.trainer.lm_distillation import IGNORED_LABEL, PAD_LOGPROB, head_tokens
from services.trainer.student_lm import (
    LMTraining,
    batch_tensors,
    check_student_parity,
    end_of_turn,
    examples_from_rows,
    quantize_student_lm,
    train_student_lm,
    training_examples,
    validation,
    write_student_lm,
)
from shared.generation import ChatFormat, LanguageModel

ANSWERS = {
    "harbor": "A sheltered port where ships can find refuge.",
    "lantern": "A light in a case with a handle, carried about.",
    "anchor": "A heavy weight that keeps a ship from drifting.",
    "meadow": "A field of grass and wild flowers.",
    "kettle": "A metal pot with a spout for boiling water.",
    "ladder": "A frame of two sides and rungs for climbing.",
    "violin": "A bowed string instrument held under the chin.",
    "pebble": "A small stone made smooth by water.",
}


@pytest.fixture(scope="module")
def chat(teacher_lm_dir) -> ChatFormat:
    return ChatFormat(teacher_lm_dir)


def curated_rows(chat: ChatFormat) -> list[dict]:
    """Rows as the curator writes them for a generative teacher: token bytes, logprobs and top-2."""
    rows = []
    for word, answer in ANSWERS.items():
        ids = chat.encode(answer)
        tokens = [chat.token_bytes[i] for i in ids]
        rows.append({"text": f"Define the word '{word}' in one sentence.", "completion": answer, "finish_reason": "stop",
                     "completion_tokens": tokens, "token_logprobs": [-0.2] * len(ids),
                     "top_tokens": [[t, b" the"] for t in tokens], "top_logprobs": [[-0.2, -1.8]] * len(ids),
                     "completion_token_ids": None, "top_token_ids": None, "gold_label": f"gold gloss of {word}"})
    return rows


def narrow_teacher(chat: ChatFormat, layers: int = 4) -> CausalLM:
    torch.manual_seed(0)
    config = DecoderConfig(vocab_size=chat.vocab_size, hidden_size=32, intermediate_size=64, num_layers=layers,
                           num_heads=4, num_kv_heads=2, head_dim=8, rms_norm_eps=1e-5, rope_theta=10000.0,
                           max_positions=512)
    return CausalLM(config).eval()


def test_examples_keep_the_answer_and_its_alternatives_after_the_prompt_as_served(chat):
    rows = curated_rows(chat)
    rows.append({**rows[0], "text": "a prompt without an answer", "completion_tokens": None})
    rows.append({**rows[1], "completion_tokens": [b"\xff\xfe not a token"] + rows[1]["completion_tokens"]})
    rows.append({**rows[2], "finish_reason": "length"})
    examples, skipped = examples_from_rows(rows, chat, instructions="Be brief.")
    assert skipped == {"no_completion": 1, "unmapped_token": 1} and len(examples) == len(ANSWERS) + 1
    first, cut = examples[0], examples[-1]
    rendered = chat.render_chat([{"role": "system", "content": "Be brief."},
                                 {"role": "user", "content": rows[0]["text"]}])
    assert first.prompt == chat.encode(rendered)
    assert chat.decode(first.target[:-1]) == ANSWERS["harbor"] and first.target[-1] == end_of_turn(chat)
    assert cut.target == chat.encode(ANSWERS["anchor"])  # cut at max_tokens: no end of turn to learn
    the = chat.encode(" the")[0]
    assert first.top_ids[0] == [first.target[0], the] and first.top_ids[-1] == []  # the end of turn has none
    gold, _ = examples_from_rows(rows[:2], chat, source="gold")
    assert chat.decode(gold[0].target[:-1]) == "gold gloss of harbor" and gold[0].top_ids == []

    batch = batch_tensors(examples[:2], chat.pad_token_id)
    # The loss positions are exactly the answer's: each predicts the next answer token.
    for b, example in enumerate(examples[:2]):
        answer = batch["answer"][b].nonzero().flatten()
        assert batch["labels"][b, answer].tolist() == example.target
        assert int(answer[0]) == len(example.prompt) - 1
        assert batch["has_top"][b].sum() == len(example.target) - 1


def test_the_soft_and_hard_targets_loss_learns_each_prompt_from_the_teacher_and_from_gold(chat):
    rows = curated_rows(chat)
    mixed, skipped = training_examples([*rows, {**rows[0], "gold_label": None}], chat, "sequence+topk+gold")
    assert skipped == {"no_gold": 1}
    teacher, gold = mixed[:9], mixed[9:]
    assert [e.prompt for e in teacher[:8]] == [e.prompt for e in gold]
    assert all(e.top_ids and any(e.top_ids) for e in teacher) and all(e.top_ids == [] for e in gold)
    assert chat.decode(gold[0].target[:-1]) == "gold gloss of harbor"
    assert training_examples(rows, chat, "gold")[0] == gold and training_examples(rows, chat, "sequence")[0] == teacher[:8]

    # One batch holding both: the top-k term is taken at the teacher's positions only.
    batch = batch_tensors([teacher[0], gold[0]], chat.pad_token_id)
    assert bool(batch["has_top"][0].any()) and not bool(batch["has_top"][1].any())
    _, history = train_student_lm(narrow_teacher(chat), LMTraining(layers=2, epochs=2, batch_size=4,
                                                                   loss="sequence+topk+gold"),
                                  mixed, teacher, chat.pad_token_id)
    assert any(step["kl"] is not None for step in history.steps)


def test_training_learns_the_answers_and_a_resumed_run_ends_with_the_same_weights(chat):
    examples, _ = examples_from_rows(curated_rows(chat), chat)
    teacher = narrow_teacher(chat)
    config = LMTraining(layers=2, epochs=3, batch_size=4, learning_rate=3e-3, train_embeddings=True)
    untrained = train_student_lm(teacher, LMTraining(**{**vars(config), "epochs": 1, "learning_rate": 1e-12}),
                                 examples, examples, chat.pad_token_id)[0]
    before = validation(untrained, examples, chat.pad_token_id)

    checkpoints: list[bytes] = []
    student, history = train_student_lm(teacher, config, examples, examples, chat.pad_token_id,
                                        on_checkpoint=lambda state: checkpoints.append(dumps(state)))
    after = validation(student, examples, chat.pad_token_id)
    assert after["val_loss"] < before["val_loss"] and len(history.epochs) == 3 and len(checkpoints) == 3
    assert all(s["kl"] is not None for s in history.steps)  # sequence + top-k by default

    # Stopped after its first epoch: the resumed run ends where the whole one did.
    resumed, again = train_student_lm(teacher, config, examples, examples, chat.pad_token_id,
                                      state=loads(checkpoints[0]))
    assert [e["epoch"] for e in again.epochs] == [1, 2, 3]
    for name, tensor in student.state_dict().items():
        assert torch.allclose(tensor, resumed.state_dict()[name], atol=1e-6), name


def test_a_run_resumed_from_a_checkpoint_within_an_epoch_takes_the_same_remaining_steps(chat):
    examples, _ = examples_from_rows(curated_rows(chat), chat)
    teacher = narrow_teacher(chat)
    config = LMTraining(layers=2, epochs=2, batch_size=3, learning_rate=3e-3, checkpoint_steps=1)
    checkpoints: list[dict] = []
    student, history = train_student_lm(teacher, config, examples, examples, chat.pad_token_id,
                                        on_checkpoint=lambda state: checkpoints.append(loads(dumps(state))))
    # 8 answers in batches of 3: 3 steps an epoch, a checkpoint after each step and after each epoch.
    assert [(c["epoch"], c["epoch_steps"]) for c in checkpoints] == [(0, 1), (0, 2), (0, 3), (1, 0),
                                                                     (1, 1), (1, 2), (1, 3), (2, 0)]
    resumed, again = train_student_lm(teacher, config, examples, examples, chat.pad_token_id, state=checkpoints[4])
    assert [s["loss"] for s in again.steps] == pytest.approx([s["loss"] for s in history.steps], rel=1e-6)
    assert again.epochs[-1]["train_loss"] == pytest.approx(history.epochs[-1]["train_loss"], rel=1e-6)
    for name, tensor in student.state_dict().items():
        assert torch.allclose(tensor, resumed.state_dict()[name], atol=1e-6), name


def test_the_student_exports_with_its_cache_and_generates_as_its_weights_do(chat, tmp_path, teacher_lm_dir):
    examples, _ = examples_from_rows(curated_rows(chat), chat)
    student, _ = train_student_lm(narrow_teacher(chat), LMTraining(layers=2, epochs=1, batch_size=4),
                                  examples, examples[:2], chat.pad_token_id)
    out = tmp_path / "student-lm"
    write_student_lm(student, teacher_lm_dir, out, "student-lm", {"teacher": "teacher-lm"})
    parity = check_student_parity(student, out, [e.prompt for e in examples[:2]], tokens=6)
    assert parity["greedy_mismatches"] == 0 and parity["max_abs_logit_diff"] <= 1e-3
    served = LanguageModel(out, device="cpu")
    assert served.num_layers == 2 and served.meta["name"] == "student-lm" and served.meta["teacher"] == "teacher-lm"
    assert served.render_chat([{"role": "user", "content": "hi"}]) == chat.render_chat([{"role": "user", "content": "hi"}])

    # `quantize: true`: int8 weights served, the fp32 graph kept beside them, the quality cost measured,
    # and the teacher quantised the same way for speed at equal precision.
    quantization = quantize_student_lm(out, teacher_lm_dir, "student-lm", [e.prompt for e in examples[:2]], 6)
    int8 = LanguageModel(out, device="cpu")
    assert int8.meta["precision"] == "int8" and (out / "model.fp32.onnx").exists()
    assert (out / "model.onnx").stat().st_size < quantization["size_bytes_fp32"]
    assert 0.0 <= quantization["quality_cost"]["rouge_l_vs_fp32"] <= 1.0
    assert quantization["quality_cost"]["prompts"] == 2
    assert LanguageModel(tmp_path / "teacher-int8", device="cpu").meta["precision"] == "int8"


def test_a_student_with_a_head_over_its_answers_tokens_trains_exports_and_writes_only_them(
        chat, tmp_path, teacher_lm_dir):
    examples, _ = examples_from_rows(curated_rows(chat), chat)
    answer_tokens = {t for e in examples for t in e.target}
    head = head_tokens([e.target for e in examples], [i for e in examples for i in e.top_ids], [end_of_turn(chat)],
                       len(answer_tokens) + 1)
    assert answer_tokens <= set(head) and end_of_turn(chat) in head

    # A label the head lacks is not scored; an alternative it lacks joins the teacher's tail.
    the = chat.encode(" the")[0]
    narrow = [t for t in head if t not in (the, examples[0].target[0])]
    index = torch.full((chat.vocab_size,), -1, dtype=torch.long)
    index[narrow] = torch.arange(len(narrow))
    batch = batch_tensors(examples[:1], chat.pad_token_id, index)
    answer = batch["answer"][0]
    assert int(batch["labels"][0, answer][0]) == IGNORED_LABEL
    assert batch["labels"][0, answer][1:].tolist() == index[examples[0].target[1:]].tolist()
    assert bool((batch["top_logprobs"][0, answer][:-1, 1] == PAD_LOGPROB).all())  # " the", everywhere

    config = LMTraining(layers=2, epochs=3, batch_size=4, learning_rate=3e-3)
    untrained, _ = train_student_lm(narrow_teacher(chat), LMTraining(**{**vars(config), "learning_rate": 1e-12}),
                                    examples, examples, chat.pad_token_id, head_ids=head)
    student, _ = train_student_lm(narrow_teacher(chat), config, examples, examples, chat.pad_token_id, head_ids=head)
    assert student.config.head_size == len(head)
    assert validation(student, examples, chat.pad_token_id)["val_loss"] < \
        validation(untrained, examples, chat.pad_token_id)["val_loss"]
    out = tmp_path / "student-lm"
    write_student_lm(student, teacher_lm_dir, out, "student-lm")
    assert check_student_parity(student, out, [e.prompt for e in examples[:2]], tokens=6)["greedy_mismatches"] == 0
    served = LanguageModel(out, device="cpu")
    generated, logits = served.greedy(examples[0].prompt, 8)
    assert set(generated) <= set(head) and logits.shape == (chat.vocab_size,)


def test_the_teachers_torch_weights_are_the_served_teacher(chat, teacher_lm_dir):
    from pathlib import Path

    from services.trainer.teacher_lm import teacher_causal_lm

    # Where the stack's trainer keeps it too (TRAINER_CACHE_DIR): built once for both.
    teacher = teacher_causal_lm(Path(__file__).resolve().parent.parent / ".cache" / "trainer")
    prompt = chat.encode(chat.render_chat([{"role": "user", "content": "Define the word 'harbor'."}]))
    _, served_logits = LanguageModel(teacher_lm_dir, device="cpu").greedy(prompt, 1)
    with torch.no_grad():
        x = torch.tensor([prompt])
        logits = teacher(x, torch.ones_like(x))[0, -1].numpy()
    assert float(np.max(np.abs(logits - served_logits))) <= 1e-3
