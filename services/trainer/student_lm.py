"""student-lm: a generative student trained on a curated dataset of a chat teacher's answers
(services/curator: the answer's tokens and the teacher's top-k at every position).

The student keeps a few of the teacher's layers, spaced evenly (services.trainer.lm_distillation),
with the teacher's tokenizer, embedding and tied head. The embedding is frozen by default: it is
28 M of SmolLM2's 134.5 M parameters, the student shares the teacher's vocabulary, and its gradient
is the costliest matmul of a step on CPU. With `head_tokens`, the student has a head of its own over
the tokens its domain's answers use (a fifth of the vocabulary or less), trained with its layers:
cheaper a token, so it affords more layers at the same speed. Each training row is the prompt exactly
as the served model sees it (the chat template), then the teacher's answer and the end of the turn;
the loss is taken on the answer's positions only:
- `sequence`: cross-entropy on the teacher's tokens (sequence-level KD);
- `sequence+topk`: plus forward KL on the teacher's top-k with the rest as one tail bucket;
- `sequence+topk+gold`: plus cross-entropy on the gold answers of the same training prompts, as
  rows of their own (the soft and hard targets of Hinton et al.; batches are made of similar
  lengths, so the short glosses mostly make batches of their own: about half the steps);
- `gold`: cross-entropy on the gold answers instead (the baseline a teacher has to beat).
The student goes out through the teacher's own export path (ONNX with its KV cache), checked for
parity against its torch weights before anything else sees it."""

from __future__ import annotations

import json
import logging
import math
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from services.trainer.causal_lm import CausalLM, export_cached_onnx
from services.trainer.distributed import Workers
from services.trainer.export import ParityError
from services.trainer.lm_distillation import (
    IGNORED_LABEL,
    PAD_LOGPROB,
    head_tokens,
    sequence_kd_loss,
    slice_student,
    spaced_layers,
    topk_kl_loss,
)
from shared.generation import ChatFormat, LanguageModel
from shared.tokens import vocabulary_by_bytes

log = logging.getLogger(__name__)

LOGIT_TOLERANCE = 1e-3


@dataclass
class LMExample:
    prompt: list[int]  # the chat-templated prompt's ids
    target: list[int]  # the answer's ids, then the end of the turn when the answer ended there
    top_ids: list[list[int]]  # per target position, the teacher's alternatives (none: [])
    top_logprobs: list[list[float]]
    prompt_text: str = ""
    reference: str = ""  # the teacher's answer
    gold: str | None = None


@dataclass
class LMTraining:
    layers: int = 5
    loss: Literal["sequence", "sequence+topk", "sequence+topk+gold", "gold"] = "sequence+topk"
    topk_weight: float = 1.0
    epochs: int = 2
    batch_size: int = 8
    learning_rate: float = 3e-4
    warmup_fraction: float = 0.05
    train_embeddings: bool = False
    max_prompt_tokens: int = 256
    seed: int = 0
    checkpoint_steps: int = 0  # a checkpoint every N steps as well as after every epoch (0: epochs only)


@dataclass
class LMHistory:
    epochs: list[dict] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)  # every step's loss, for the curves


def end_of_turn(chat: ChatFormat) -> int:
    """The token the chat template closes an assistant turn with (SmolLM2: <|im_end|>)."""
    eos = chat.meta.get("eos_token", "")
    ids = chat.encode(eos) if eos else []
    return ids[0] if len(ids) == 1 else min(chat.eos_token_ids)


def examples_from_rows(rows: list[dict], chat: ChatFormat, instructions: str = "",
                       source: Literal["teacher", "gold"] = "teacher",
                       max_prompt_tokens: int = 256) -> tuple[list[LMExample], Counter]:
    """Training examples from a curated dataset's rows (shared.datasets.read_split(...).to_pylist()):
    the answer's ids are the curator's where it wrote them, else its token bytes mapped through the
    student's own vocabulary (the same tokenizer family: exact). Rows that cannot be used are counted."""
    vocabulary: dict[bytes, int] | None = None
    eot = end_of_turn(chat)
    examples: list[LMExample] = []
    skipped: Counter[str] = Counter()
    for row in rows:
        messages = ([{"role": "system", "content": instructions}] if instructions else []) + \
            [{"role": "user", "content": row["text"]}]
        prompt = chat.encode(chat.render_chat(messages))
        if len(prompt) > max_prompt_tokens:
            skipped["long_prompt"] += 1
            continue
        if source == "gold":
            if not row.get("gold_label"):
                skipped["no_gold"] += 1
                continue
            examples.append(LMExample(prompt, [*chat.encode(row["gold_label"]), eot], [], [],
                                      row["text"], row.get("completion") or "", row["gold_label"]))
            continue
        if row.get("completion_tokens") is None:
            skipped["no_completion"] += 1
            continue
        if row.get("completion_token_ids") is not None:
            ids, top_ids = row["completion_token_ids"], row["top_token_ids"]
        else:
            vocabulary = vocabulary or vocabulary_by_bytes(chat.tokenizer)
            ids = [vocabulary.get(b, -1) for b in row["completion_tokens"]]
            top_ids = [[vocabulary.get(b, -1) for b in position] for position in row["top_tokens"] or []]
        if not ids or min(ids) < 0:
            skipped["unmapped_token"] += 1
            continue
        tops, top_lps = [], []
        for position, logprobs in zip(top_ids or [], row["top_logprobs"] or []):
            kept = [(i, lp) for i, lp in zip(position, logprobs) if i >= 0]  # an unknown one joins the tail
            tops.append([i for i, _ in kept])
            top_lps.append([lp for _, lp in kept])
        ended = row.get("finish_reason") == "stop"
        target = list(ids) + ([eot] if ended else [])
        tops += [[] for _ in range(len(target) - len(tops))]
        top_lps += [[] for _ in range(len(target) - len(top_lps))]
        examples.append(LMExample(prompt, target, tops, top_lps, row["text"], row.get("completion") or "",
                                  row.get("gold_label")))
    return examples, skipped


def training_examples(rows: list[dict], chat: ChatFormat, loss: str, instructions: str = ""
                      ) -> tuple[list[LMExample], Counter]:
    """What a loss learns from: the teacher's answers, the gold ones (`gold`), or both
    (`sequence+topk+gold`: each prompt twice, once with the teacher's answer and its top-k, once with
    the gold answer alone); and the rows each source could not use."""
    sources: tuple[Literal["teacher", "gold"], ...] = (
        ("gold",) if loss == "gold" else ("teacher", "gold") if loss == "sequence+topk+gold" else ("teacher",))
    examples: list[LMExample] = []
    skipped: Counter[str] = Counter()
    for source in sources:
        got, why = examples_from_rows(rows, chat, instructions, source)
        examples, skipped = examples + got, skipped + why
    return examples, skipped


def batch_tensors(examples: list[LMExample], pad_id: int, head_index: torch.Tensor | None = None
                  ) -> dict[str, torch.Tensor]:
    """Right-padded inputs, the positions whose next token is an answer token, and the teacher's
    top-k at those positions ([B, T, K], absent alternatives at PAD_LOGPROB). With a restricted
    head's `head_index` (CausalLM.vocab_to_head), labels and alternatives are its indices: a label it
    lacks is ignored by the cross-entropy (IGNORED_LABEL) and an alternative it lacks joins the tail."""
    sequences = [e.prompt + e.target for e in examples]
    width = max(len(s) for s in sequences) - 1
    k = max([len(t) for e in examples for t in e.top_ids] + [1])
    batch = len(examples)
    input_ids = torch.full((batch, width), pad_id, dtype=torch.long)
    attention = torch.zeros(batch, width, dtype=torch.long)
    labels = torch.zeros(batch, width, dtype=torch.long)
    answer = torch.zeros(batch, width, dtype=torch.bool)
    top_ids = torch.zeros(batch, width, k, dtype=torch.long)
    top_logprobs = torch.full((batch, width, k), PAD_LOGPROB)
    has_top = torch.zeros(batch, width, dtype=torch.bool)
    for b, (e, seq) in enumerate(zip(examples, sequences)):
        n = len(seq) - 1
        input_ids[b, :n] = torch.tensor(seq[:-1])
        attention[b, :n] = 1
        labels[b, :n] = torch.tensor(seq[1:])
        start = len(e.prompt) - 1  # the input position whose next token is the answer's first
        answer[b, start:n] = True
        for j, (ids, lps) in enumerate(zip(e.top_ids, e.top_logprobs)):
            if ids:
                top_ids[b, start + j, :len(ids)] = torch.tensor(ids)
                top_logprobs[b, start + j, :len(ids)] = torch.tensor(lps)
                has_top[b, start + j] = True
    if head_index is not None:
        labels = head_index[labels]
        labels[labels < 0] = IGNORED_LABEL
        top_ids = head_index[top_ids]
        top_logprobs[top_ids < 0] = PAD_LOGPROB
        top_ids = top_ids.clamp(min=0)
    return {"input_ids": input_ids, "attention_mask": attention, "labels": labels, "answer": answer,
            "top_ids": top_ids, "top_logprobs": top_logprobs, "has_top": has_top}


def answer_logits(model: CausalLM, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The next-token logits [N, V] at the answer's positions only (V: the head's tokens): the head
    is most of a step's cost, and the prompt's positions are not scored."""
    positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    hidden, _ = model.hidden(batch["input_ids"], batch["attention_mask"], positions,
                             model.empty_cache(batch["input_ids"].shape[0]))
    return model.head_logits(hidden[batch["answer"]])


class AnswerLogits(torch.nn.Module):
    """A training step's forward as one module call, so that DDP sees it and averages the gradients."""

    def __init__(self, model: CausalLM) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, answer: torch.Tensor) -> torch.Tensor:
        return answer_logits(self.model, {"input_ids": input_ids, "attention_mask": attention_mask, "answer": answer})


def loss_sums(logits: torch.Tensor, batch: dict[str, torch.Tensor], with_topk: bool
              ) -> tuple[torch.Tensor, torch.Tensor, int, int]:
    """The cross-entropy summed over the answer tokens the head scores, the top-k KL summed over the
    positions that carry the teacher's alternatives, and both counts: sums, so that workers holding
    different numbers of tokens add up to the loss one process would take on the whole batch."""
    mask = batch["answer"]
    labels = batch["labels"][mask]
    scored = int((labels != IGNORED_LABEL).sum())
    ce_sum = sequence_kd_loss(logits, labels, torch.ones_like(labels, dtype=torch.bool)) * scored
    kl_sum, positions = logits.new_zeros(()), 0
    if with_topk:
        has_top = batch["has_top"][mask]
        positions = int(has_top.sum())
        if positions:
            kl_sum = topk_kl_loss(logits, batch["top_ids"][mask], batch["top_logprobs"][mask], has_top) * positions
    return ce_sum, kl_sum, scored, positions


def on_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


@torch.no_grad()
def validation(model: CausalLM, examples: list[LMExample], pad_id: int, batch_size: int = 16,
               workers: Workers = Workers()) -> dict:
    """Cross-entropy on the answers, next-token agreement with them (teacher forcing), and the KL to
    the teacher's top-k plus tail where the answers carry it; each worker scores its share."""
    model.eval()
    device = model.embed_tokens.weight.device
    total, scored, agree, loss, kl_sum, kl_positions = 0, 0, 0, 0.0, 0.0, 0
    head_index = model.vocab_to_head()
    mine = workers.shard(examples)
    for start in range(0, len(mine), batch_size):
        batch = on_device(batch_tensors(mine[start:start + batch_size], pad_id,
                                        None if head_index is None else head_index.cpu()), device)
        mask = batch["answer"]
        logits = answer_logits(model, batch)
        labels = batch["labels"][mask]
        loss += float(torch.nn.functional.cross_entropy(logits, labels, reduction="sum",
                                                        ignore_index=IGNORED_LABEL))
        agree += int((logits.argmax(-1) == labels).sum())
        total += int(labels.numel())
        scored += int((labels != IGNORED_LABEL).sum())
        has_top = batch["has_top"][mask]
        if bool(has_top.any()):
            n = int(has_top.sum())
            kl_sum += float(topk_kl_loss(logits, batch["top_ids"][mask], batch["top_logprobs"][mask], has_top)) * n
            kl_positions += n
    sums = workers.sum([loss, agree, total, scored, kl_sum, kl_positions])
    all_loss, all_agree, all_total, all_scored, all_kl, all_kl_positions = sums
    # The loss is over the tokens the head can emit (the rest are the coverage's business); agreement
    # is over every token, so one a restricted head cannot emit counts as a miss.
    return {"val_loss": all_loss / max(1, all_scored), "val_agreement": all_agree / max(1, all_total),
            "val_tokens": int(all_total), "val_kl": all_kl / all_kl_positions if all_kl_positions else 0.0}


def length_batches(examples: list[LMExample], batch_size: int, rng: random.Random) -> list[list[LMExample]]:
    """Batches of similar lengths (less padding), in a shuffled order."""
    ordered = sorted(examples, key=lambda e: (len(e.prompt) + len(e.target), rng.random()))
    batches = [ordered[i:i + batch_size] for i in range(0, len(ordered), batch_size)]
    rng.shuffle(batches)
    return batches


def train_student_lm(teacher: CausalLM, config: LMTraining, train: list[LMExample], val: list[LMExample],
                     pad_id: int, on_epoch: Callable[[dict], None] | None = None,
                     state: dict | None = None, on_checkpoint: Callable[[dict], None] | None = None,
                     head_ids: list[int] | None = None, workers: Workers = Workers()) -> tuple[CausalLM, LMHistory]:
    """The student, its best epoch by validation loss kept. `state` (from on_checkpoint) resumes an
    interrupted run where its last checkpoint was taken: after an epoch, or `config.checkpoint_steps`
    steps into one (the batches of an epoch come in the same order every time). With `head_ids`, its
    head covers those tokens only (services.trainer.lm_distillation.head_tokens) and trains with the
    layers. Under torchrun every worker calls this with the same arguments: each takes its share of
    every global batch of `config.batch_size`, and the steps, losses and weights are those of one
    process taking the whole batch (to float rounding)."""
    if not train:
        raise ValueError("no training examples: the dataset has none this loss can use")
    torch.manual_seed(config.seed)
    student = slice_student(teacher, spaced_layers(teacher.config.num_layers, config.layers), head_ids)
    student.embed_tokens.weight.requires_grad_(config.train_embeddings)
    student.to(workers.device)
    trainable = [p for p in student.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=0.0)
    steps = config.epochs * math.ceil(len(train) / config.batch_size)
    warmup = max(1, int(config.warmup_fraction * steps))
    # Linear warm-up, then linear decay to 0 at the last step.
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    history, best, first_epoch, done_in_epoch, losses_seen = LMHistory(), None, 1, 0, []
    if state is not None:
        student.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        history = LMHistory(state["history"]["epochs"], state["history"]["steps"])
        best = state.get("best")
        first_epoch = state["epoch"] + 1
        done_in_epoch, losses_seen = state.get("epoch_steps", 0), list(state.get("epoch_losses", []))
    with_topk = config.loss in ("sequence+topk", "sequence+topk+gold")
    head_index = student.vocab_to_head()
    head_index = None if head_index is None else head_index.cpu()
    forward: torch.nn.Module = AnswerLogits(student)
    if workers.distributed:
        from torch.nn.parallel import DistributedDataParallel

        forward = DistributedDataParallel(forward, device_ids=[workers.device] if workers.device.type == "cuda" else None)

    def checkpoint(epoch: int, epoch_steps: int = 0, epoch_losses: list[float] | None = None) -> None:
        if on_checkpoint:
            on_checkpoint({"epoch": epoch, "epoch_steps": epoch_steps, "epoch_losses": epoch_losses or [],
                           "model": student.state_dict(), "optimiser": optimiser.state_dict(),
                           "schedule": schedule.state_dict(), "best": best,
                           "history": {"epochs": history.epochs, "steps": history.steps}})

    for epoch in range(first_epoch, config.epochs + 1):
        student.train()
        rng = random.Random(config.seed * 1000 + epoch)
        started = time.perf_counter()
        for step, batch_examples in enumerate(length_batches(train, config.batch_size, rng), start=1):
            if step <= done_in_epoch:
                continue  # taken before the checkpoint this run resumed from
            mine, weight = workers.shard(batch_examples), 1.0
            if not mine:  # fewer examples than workers: this one joins the gradient average with nothing
                mine, weight = batch_examples[:1], 0.0
            batch = on_device(batch_tensors(mine, pad_id, head_index), workers.device)
            logits = forward(batch["input_ids"], batch["attention_mask"], batch["answer"])
            ce_sum, kl_sum, scored, positions = loss_sums(logits, batch, with_topk)
            all_scored, all_positions = workers.sum([scored * weight, positions * weight])
            ce = ce_sum * weight / max(1.0, all_scored)
            kl = kl_sum * weight / max(1.0, all_positions)
            # DDP averages the workers' gradients: scaled by their number, that is the whole batch's.
            loss = (ce + config.topk_weight * kl) * workers.world
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(trainable, 1.0)
            optimiser.step()
            schedule.step()
            batch_ce, batch_kl = workers.sum([ce.item(), kl.item()])
            batch_loss = batch_ce + config.topk_weight * batch_kl
            losses_seen.append(batch_loss)
            history.steps.append({"step": len(history.steps) + 1, "loss": batch_loss, "ce": batch_ce,
                                  "kl": batch_kl if all_positions else None})
            if config.checkpoint_steps and step % config.checkpoint_steps == 0:
                checkpoint(epoch - 1, step, losses_seen)
        done_in_epoch = 0
        record = {"epoch": epoch, "train_loss": float(np.mean(losses_seen)), "seconds": time.perf_counter() - started,
                  **validation(student, val, pad_id, workers=workers)}
        losses_seen = []
        history.epochs.append(record)
        if best is None or record["val_loss"] < best["val_loss"]:
            best = {"epoch": epoch, "val_loss": record["val_loss"],
                    "model": {k: v.detach().clone() for k, v in student.state_dict().items()}}
        log.info("student-lm epoch %d: %s", epoch, {k: v for k, v in record.items() if k != "epoch"})
        if on_epoch:
            on_epoch(record)
        checkpoint(epoch)
    if not val:
        return student.eval(), history  # nothing to choose by: the last epoch
    assert best is not None
    student.load_state_dict(best["model"])
    return student.eval(), history


# ---- export --------------------------------------------------------------------------------------

def write_student_lm(student: CausalLM, teacher_dir: Path, out: Path, name: str, extra: dict | None = None) -> None:
    """model.onnx (the teacher's export path, KV cache and all), the teacher's tokenizer.json, and a
    model.json that is the teacher's with this student's architecture."""
    out.mkdir(parents=True, exist_ok=True)
    export_cached_onnx(student, out / "model.onnx")
    shutil.copy(teacher_dir / "tokenizer.json", out / "tokenizer.json")
    meta = json.loads((teacher_dir / "model.json").read_text())
    meta.update({"name": name, "architecture": student.config.to_dict(), **(extra or {})})
    (out / "model.json").write_text(json.dumps(meta, indent=2))


@torch.no_grad()
def check_student_parity(student: CausalLM, out: Path, prompts: list[list[int]], tokens: int = 12) -> dict:
    """Greedy tokens from onnxruntime against the torch student (full recompute, no cache), and
    next-token logits within 1e-3; raises ParityError."""
    served = LanguageModel(out, device="cpu")
    worst, mismatches = 0.0, 0
    for prompt in prompts:
        onnx_tokens, onnx_logits = served.greedy(prompt, tokens)
        ids = list(prompt)
        reference_logits = None
        for _ in range(len(onnx_tokens)):
            x = torch.tensor([ids])
            logits = student(x, torch.ones_like(x))[0, -1]
            reference_logits = logits.numpy() if reference_logits is None else reference_logits
            ids.append(int(logits.argmax()))
        worst = max(worst, float(np.max(np.abs(reference_logits - onnx_logits))) if reference_logits is not None
                    else 0.0)
        mismatches += ids[len(prompt):] != onnx_tokens
    result = {"prompts": len(prompts), "greedy_tokens": tokens, "max_abs_logit_diff": worst,
              "greedy_mismatches": mismatches}
    if worst > LOGIT_TOLERANCE or mismatches:
        raise ParityError(f"the student's ONNX export and its torch weights disagree: {result}")
    return result


# ---- evaluation and the whole build -------------------------------------------------------------

def student_head(chat: ChatFormat, train: list[LMExample], val: list[LMExample], size: int) -> list[int]:
    """The tokens a restricted head of `size` covers: the ends of a turn, then the train and validation
    answers' tokens, then the teacher's alternatives on train (lm_distillation.head_tokens)."""
    return head_tokens([e.target for e in train + val], [ids for e in train for ids in e.top_ids],
                       sorted({end_of_turn(chat), *chat.eos_token_ids}), size)


def head_coverage(head_ids: list[int], examples: list[LMExample]) -> float:
    """The share of the examples' answer tokens a restricted head can emit."""
    covered, tokens = set(head_ids), [t for e in examples for t in e.target]
    return sum(t in covered for t in tokens) / max(1, len(tokens))


def greedy_answers(model: LanguageModel, examples: list[LMExample], max_new_tokens: int) -> tuple[list[str], float]:
    """Each prompt's greedy answer, and output tokens/s over them (batch 1, this process)."""
    answers, tokens, started = [], 0, time.perf_counter()
    for example in examples:
        ids, _ = model.greedy(example.prompt, max_new_tokens)
        tokens += len(ids)
        answers.append(model.decode(ids))
    return answers, tokens / max(1e-9, time.perf_counter() - started)


def evaluate_lm(out: Path, teacher_dir: Path, test: list[LMExample], eval_prompts: int, max_new_tokens: int) -> dict:
    """The student's greedy answers on the first `eval_prompts` test prompts, scored by ROUGE-L against
    the teacher's answers and the gold ones (the teacher's own answers are scored against gold too);
    speed: output tokens/s of both models, greedy at batch 1 on the same prompts, in this run."""
    from shared.textmetrics import rouge_l

    student = LanguageModel(out, device="cpu")
    scored = test[:eval_prompts]
    answers, _ = greedy_answers(student, scored, max_new_tokens)
    # Speed on the same few prompts, one model after the other (the answers' lengths differ: a
    # rate per token still compares).
    speed_set = scored[:8]
    _, teacher_tps = greedy_answers(LanguageModel(teacher_dir, device="cpu"), speed_set, max_new_tokens)
    _, student_tps = greedy_answers(student, speed_set, max_new_tokens)
    gold = [(answer, e) for answer, e in zip(answers, scored) if e.gold]
    student_gold = float(np.mean([rouge_l(a, e.gold or "") for a, e in gold])) if gold else None
    teacher_gold = float(np.mean([rouge_l(e.reference, e.gold or "") for _, e in gold])) if gold else None
    return {"rouge_l_to_teacher": float(np.mean([rouge_l(a, e.reference) for a, e in zip(answers, scored)])),
            "gold_rows": len(gold), "gold_accuracy": student_gold, "teacher_gold_accuracy": teacher_gold,
            "relative_accuracy": student_gold / teacher_gold if student_gold is not None and teacher_gold else None,
            "student_texts_per_s": student_tps, "teacher_texts_per_s": teacher_tps,
            "speedup": student_tps / teacher_tps if teacher_tps else 0.0,
            "size_bytes": (out / "model.onnx").stat().st_size, "samples": [
                {"prompt": e.prompt_text, "student": a, "teacher": e.reference, "gold": e.gold}
                for a, e in list(zip(answers, scored))[:5]]}


def quantize_student_lm(out: Path, teacher_dir: Path, name: str, prompts: list[list[int]], max_new_tokens: int) -> dict:
    """`out`'s model.onnx becomes int8 weights (teacher-lm-int8's scheme; the fp32 graph stays beside
    it as model.fp32.onnx), with the quality cost measured against fp32 on `prompts`; the teacher is
    quantised the same way into `out`'s sibling teacher-int8/, for speed at equal precision."""
    from services.trainer.teacher_lm import INT8_SCHEME, int8_quality, quantize_weights_int8

    fp32_dir = out.parent / "student-fp32"
    shutil.rmtree(fp32_dir, ignore_errors=True)
    shutil.copytree(out, fp32_dir)
    seconds = quantize_weights_int8(fp32_dir, out, name)
    shutil.copy(fp32_dir / "model.onnx", out / "model.fp32.onnx")
    quality = int8_quality(fp32_dir, out, prompts, max_new_tokens)
    shutil.rmtree(fp32_dir)
    quantize_weights_int8(teacher_dir, out.parent / "teacher-int8", "teacher-int8")
    return {"scheme": INT8_SCHEME, "seconds": round(seconds, 1), "quality_cost": quality,
            "size_bytes_fp32": (out / "model.fp32.onnx").stat().st_size}


def build_student_lm(spec, teacher: CausalLM, teacher_dir: Path, rows: dict[str, list[dict]], out: Path,
                     lineage: dict, instructions: str = "", progress: Callable[[int, dict], None] | None = None,
                     checkpoints=None, workers: Workers = Workers()) -> tuple[dict, dict] | None:
    """Train (resuming from `checkpoints` when they are of this same training), export, check parity,
    evaluate; leaves a registry-ready folder in `out` (model.onnx, tokenizer.json, model.json,
    card.json, card.md, training.png). Returns (metrics for ModelMetrics, the card). Under torchrun,
    every worker trains; rank 0 alone writes checkpoints, reports progress and goes on to export and
    evaluate (the others return None)."""
    import hashlib

    from services.trainer.checkpoint import dumps, loads
    from services.trainer.report import write_card, write_curves

    chat = ChatFormat(teacher_dir)
    if chat.num_layers != teacher.config.num_layers or chat.vocab_size != teacher.config.vocab_size:
        raise ValueError(f"the registered teacher ({chat.num_layers} layers, vocabulary {chat.vocab_size}) is not "
                         f"the one whose weights the trainer has ({teacher.config.num_layers}, "
                         f"{teacher.config.vocab_size})")
    train, skipped = training_examples(rows["train"], chat, spec.lm_loss, instructions)
    # Every student's best epoch is chosen by its loss on the teacher's answers to the val prompts.
    val, _ = examples_from_rows(rows["val"], chat, instructions)
    test, _ = examples_from_rows(rows["test"], chat, instructions)
    if not train or not test:
        raise ValueError(f"dataset too small for a generative student: {len(train)} train, {len(test)} test "
                         f"answers usable (skipped: {dict(skipped)})")
    config = LMTraining(layers=spec.layers, loss=spec.lm_loss, topk_weight=spec.topk_weight, epochs=spec.epochs,
                        batch_size=spec.batch_size, learning_rate=spec.learning_rate,
                        train_embeddings=spec.train_embeddings, seed=spec.seed,
                        checkpoint_steps=spec.checkpoint_steps)
    # The number of workers is left out: a run resumed on more or fewer of them takes the same steps.
    fingerprint = hashlib.sha256((lineage.get("dataset", "") + spec.model_dump_json(exclude={"workers"})
                                  ).encode()).hexdigest()[:16]
    saved = checkpoints.load() if checkpoints else None
    state = loads(saved) if saved else None
    if state is not None and state.get("fingerprint") != fingerprint:
        state = None  # another training's checkpoint
    head_ids = student_head(chat, train, val, spec.head_tokens) if spec.head_tokens else None
    started = time.perf_counter()
    student, history = train_student_lm(
        teacher, config, train, val or test[:32], chat.pad_token_id,
        on_epoch=(lambda record: progress(record["epoch"], record)) if progress and workers.main else None,
        state=state, head_ids=head_ids, workers=workers,
        on_checkpoint=(lambda s: checkpoints.save(dumps({**s, "fingerprint": fingerprint})))
        if checkpoints and workers.main else None)
    train_s = time.perf_counter() - started
    if not workers.main:
        return None
    student = student.cpu()  # exported, checked and evaluated here
    kept = spaced_layers(teacher.config.num_layers, spec.layers)
    write_student_lm(student, teacher_dir, out, spec.name, {"student_kind": "causal-lm", "teacher_layers_kept": kept})
    parity = check_student_parity(student, out, [e.prompt for e in test[:3]])
    forced = validation(student, test, chat.pad_token_id)
    quantization = None
    if spec.quantize:
        quantization = quantize_student_lm(out, teacher_dir, spec.name, [e.prompt for e in test[:spec.eval_prompts]],
                                           spec.max_new_tokens)
        # Speed is compared at the same precision: the teacher's weights quantised the same way.
        teacher_dir = out.parent / "teacher-int8"
    figures = evaluate_lm(out, teacher_dir, test, spec.eval_prompts, spec.max_new_tokens)
    samples = figures.pop("samples")
    if head_ids:  # the head trained, which a resumed checkpoint brought with it
        head_ids = [int(i) for i in student.head_ids.tolist()]
    head = {"head_tokens": len(head_ids), "head_coverage": head_coverage(head_ids, test)} if head_ids else {}
    metrics = {"agreement": forced["val_agreement"], "kl_to_teacher": forced["val_kl"], **head,
               "parity_max_abs_diff": parity["max_abs_logit_diff"], "test_rows": len(test), **figures,
               "quantized": spec.quantize}
    write_curves(history.epochs, out / "training.png", "next-token agreement")
    card = {"model": spec.name, "student_kind": "causal-lm", "metrics": metrics, "training": spec.model_dump(),
            "vocab_size": chat.vocab_size, "train_rows": len(train), "val_rows": len(val), "skipped_rows": dict(skipped),
            "train_seconds": round(train_s, 1), "epochs_run": len(history.epochs),
            "best_epoch": min(history.epochs, key=lambda h: h["val_loss"])["epoch"] if history.epochs else 0,
            "history": history.epochs, "teacher_layers_kept": kept, "parity": parity, "samples": samples,
            "lineage": lineage, **({"quantization": quantization} if quantization else {})}
    write_card(out, card)
    return metrics, card
