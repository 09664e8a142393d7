"""Distilling a causal language model: a student made of a subset of the teacher's layers (same
tokenizer, same tied embedding and head, or a head over the tokens its domain uses), and the losses
that train it on a teacher's completions.

- Sequence-level KD: cross-entropy on the tokens the teacher generated.
- Top-k KD: forward KL(teacher || student) over the teacher's k most likely tokens at each position
  (what an OpenAI-compatible API returns as `top_logprobs`, k <= 20), with the probability mass
  outside them as one tail bucket on both sides, so the loss is a true KL between two distributions
  over k + 1 outcomes and a student is not rewarded for piling mass outside the teacher's top k."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import torch

from services.trainer.causal_lm import CausalLM

TAIL_FLOOR = 1e-6  # the smallest tail probability either side is given (log 0 is not a number)
PAD_LOGPROB = -1e4  # an absent alternative: exp() is 0, and 0 times a finite number stays 0
IGNORED_LABEL = -100  # torch's cross-entropy skips it: a token a restricted head cannot emit


def head_tokens(targets: list[list[int]], alternatives: list[list[int]], always: list[int], size: int) -> list[int]:
    """The `size` tokens a restricted head covers, in vocabulary order: `always` (the end of a turn),
    then the tokens of the training answers, most frequent first, then the teacher's alternatives
    (its top-k), most frequent first. Why: the head over SmolLM2's 49,152 tokens is as costly a token
    as about 8 of its 30 layers, and a domain's answers use a few thousand of them."""
    if size < len(always):
        raise ValueError(f"a head of {size} tokens cannot hold the {len(always)} that end a turn")
    chosen = dict.fromkeys(always)
    for source in (targets, alternatives):
        for token, _ in Counter(token for row in source for token in row).most_common():
            chosen.setdefault(token)
    return sorted(list(chosen)[:size])


def spaced_layers(num_layers: int, keep: int) -> list[int]:
    """`keep` layer indices spread evenly over the teacher's, first and last included."""
    if not 1 <= keep <= num_layers:
        raise ValueError(f"a student keeps between 1 and {num_layers} layers, not {keep}")
    if keep == 1:
        return [num_layers - 1]
    return sorted({round(i * (num_layers - 1) / (keep - 1)) for i in range(keep)})


def slice_student(teacher: CausalLM, layers: list[int], head_ids: list[int] | None = None) -> CausalLM:
    """A student with the teacher's embedding, final norm and the given layers, in order; with
    `head_ids`, a head of its own over those tokens only, starting from their rows of the tied head."""
    student = CausalLM(replace(teacher.config, num_layers=len(layers), head_size=len(head_ids or [])))
    student.embed_tokens.load_state_dict(teacher.embed_tokens.state_dict())
    if head_ids:
        ids = torch.tensor(head_ids, dtype=torch.long)
        student.head_ids.copy_(ids)
        student.head.weight.data.copy_(teacher.embed_tokens.weight.data[ids])
    student.norm.load_state_dict(teacher.norm.state_dict())
    for mine, theirs in enumerate(layers):
        student.layers[mine].load_state_dict(teacher.layers[theirs].state_dict())
    return student


def sequence_kd_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the student's next-token logits [B, T, V] on the teacher's tokens [B, T],
    over positions where mask [B, T] is true and the target is not IGNORED_LABEL (0, not NaN, when
    none is left: a batch a restricted head covers nothing of must not poison the weights)."""
    targets = targets[mask]
    total = torch.nn.functional.cross_entropy(logits[mask], targets, ignore_index=IGNORED_LABEL, reduction="sum")
    return total / (targets != IGNORED_LABEL).sum().clamp(min=1)


def topk_kl_loss(logits: torch.Tensor, topk_ids: torch.Tensor, topk_logprobs: torch.Tensor,
                 mask: torch.Tensor) -> torch.Tensor:
    """Forward KL(teacher || student) over the teacher's top k [B, T, K] plus the tail, averaged over
    masked positions. Absent alternatives (PAD_LOGPROB; their ids are placeholders) count on neither
    side: in the tail, both distributions keep the mass of every token not among the present ones."""
    student = torch.log_softmax(logits[mask].float(), dim=-1)  # [N, V]
    ids, teacher = topk_ids[mask], topk_logprobs[mask].float()  # [N, K]
    present = teacher > PAD_LOGPROB / 2
    student_k = student.gather(-1, ids)
    teacher_tail = (1 - teacher.exp().sum(-1)).clamp(min=TAIL_FLOOR)
    student_tail = (1 - (student_k.exp() * present).sum(-1)).clamp(min=TAIL_FLOOR)
    kl = (teacher.exp() * (teacher - student_k)).sum(-1) + teacher_tail * (teacher_tail.log() - student_tail.log())
    return kl.mean()
