"""The pieces a chat student is made and trained with, on a tiny random decoder (no model needed)."""

from __future__ import annotations

import pytest
import torch

from services.trainer.causal_lm import OUTSIDE_HEAD, CausalLM, DecoderConfig
from services.trainer.lm_distillation import (
    IGNORED_LABEL,
    PAD_LOGPROB,
    head_tokens,
    sequence_kd_loss,
    slice_student,
    spaced_layers,
    topk_kl_loss,
)

TINY = DecoderConfig(vocab_size=50, hidden_size=16, intermediate_size=32, num_layers=6, num_heads=4, num_kv_heads=2,
                     head_dim=4, rms_norm_eps=1e-5, rope_theta=10000.0, max_positions=64)


def test_spaced_layers_keep_the_first_and_the_last():
    assert spaced_layers(30, 5) == [0, 7, 14, 22, 29]
    assert spaced_layers(30, 30) == list(range(30))
    with pytest.raises(ValueError):
        spaced_layers(30, 31)


def test_a_student_of_every_layer_is_the_teacher():
    torch.manual_seed(0)
    teacher = CausalLM(TINY).eval()
    ids = torch.randint(0, TINY.vocab_size, (2, 7))
    mask = torch.ones_like(ids)
    whole = slice_student(teacher, list(range(TINY.num_layers))).eval()
    fewer = slice_student(teacher, spaced_layers(TINY.num_layers, 3)).eval()
    with torch.no_grad():
        assert torch.allclose(whole(ids, mask), teacher(ids, mask))
        assert fewer.config.num_layers == 3 and not torch.allclose(fewer(ids, mask), teacher(ids, mask))
    assert torch.equal(fewer.embed_tokens.weight, teacher.embed_tokens.weight)


def test_a_restricted_head_starts_as_the_tied_one_on_its_tokens_and_rules_out_the_rest():
    torch.manual_seed(0)
    teacher = CausalLM(TINY).eval()
    head = head_tokens([[7, 7, 3], [3, 9]], [[11, 12], [12]], always=[0], size=5)
    assert head == [0, 3, 7, 9, 12]  # always, then answers by frequency, then alternatives by frequency
    full = slice_student(teacher, [0, 5]).eval()
    narrow = slice_student(teacher, [0, 5], head).eval()
    ids = torch.randint(0, TINY.vocab_size, (2, 7))
    with torch.no_grad():
        wide, logits = full(ids, torch.ones_like(ids)), narrow(ids, torch.ones_like(ids))
    outside = torch.ones(TINY.vocab_size, dtype=torch.bool)
    outside[head] = False
    assert torch.allclose(logits[..., head], wide[..., head]) and bool((logits[..., outside] == OUTSIDE_HEAD).all())
    index = narrow.vocab_to_head()
    assert index is not None and index[head].tolist() == list(range(5)) and int(index[1]) == -1
    assert full.vocab_to_head() is None
    with pytest.raises(ValueError, match="end a turn"):
        head_tokens([[7]], [], always=[0, 1], size=1)


def test_left_padding_does_not_change_a_sequence():
    torch.manual_seed(0)
    model = CausalLM(TINY).eval()
    ids = torch.randint(1, TINY.vocab_size, (1, 5))
    padded = torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], dim=1)
    mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 5, dtype=torch.long)], dim=1)
    with torch.no_grad():
        assert torch.allclose(model(ids, torch.ones_like(ids))[:, -1], model(padded, mask)[:, -1], atol=1e-5)


def test_topk_kl_is_zero_for_the_teacher_itself_and_positive_otherwise():
    torch.manual_seed(0)
    teacher_logits = torch.randn(2, 5, TINY.vocab_size) * 3
    teacher = torch.log_softmax(teacher_logits, -1)
    top = teacher.topk(8, dim=-1)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 3:] = False  # padding
    assert topk_kl_loss(teacher_logits, top.indices, top.values, mask).item() == pytest.approx(0, abs=1e-5)
    student = torch.randn(2, 5, TINY.vocab_size, requires_grad=True)
    loss = topk_kl_loss(student, top.indices, top.values, mask)
    assert loss.item() > 0.1
    loss.backward()
    assert student.grad is not None and student.grad[1, 4].abs().sum() == 0  # masked positions teach nothing


def test_absent_alternatives_count_on_neither_side_whatever_their_placeholder_id():
    # A restricted head folds the alternatives it lacks into the tail: their slots keep a placeholder id
    # (0, often the end of a turn, which the student may rightly rate high) and PAD_LOGPROB.
    torch.manual_seed(1)
    student = torch.randn(1, 3, TINY.vocab_size)
    student[..., 0] = 8.0  # the placeholder's token is the student's favourite
    teacher = torch.log_softmax(torch.randn(1, 3, TINY.vocab_size), -1).topk(4, dim=-1)
    mask = torch.ones(1, 3, dtype=torch.bool)
    ids = torch.cat([teacher.indices, torch.zeros(1, 3, 3, dtype=torch.long)], -1)
    logprobs = torch.cat([teacher.values, torch.full((1, 3, 3), PAD_LOGPROB)], -1)
    assert 0 not in teacher.indices
    assert topk_kl_loss(student, ids, logprobs, mask).item() == pytest.approx(
        topk_kl_loss(student, teacher.indices, teacher.values, mask).item(), rel=1e-5)


def test_a_batch_whose_labels_are_all_ignored_teaches_nothing_instead_of_nan():
    logits = torch.randn(1, 3, TINY.vocab_size, requires_grad=True)
    targets = torch.tensor([[4, IGNORED_LABEL, 7]])
    mask = torch.ones(1, 3, dtype=torch.bool)
    expected = torch.nn.functional.cross_entropy(logits[0, [0, 2]], targets[0, [0, 2]])
    assert sequence_kd_loss(logits, targets, mask).item() == pytest.approx(expected.item(), rel=1e-6)
    nothing = sequence_kd_loss(logits, torch.full((1, 3), IGNORED_LABEL), mask)
    assert nothing.item() == 0
    nothing.backward()
    assert logits.grad is not None and not logits.grad.isnan().any()


def test_sequence_kd_is_cross_entropy_on_the_teachers_tokens():
    logits = torch.randn(2, 4, TINY.vocab_size)
    targets = torch.randint(0, TINY.vocab_size, (2, 4))
    mask = torch.ones(2, 4, dtype=torch.bool)
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, TINY.vocab_size), targets.reshape(-1))
    assert sequence_kd_loss(logits, targets, mask).item() == pytest.approx(expected.item(), rel=1e-6)
