"""What the registry keeps beside a model for people: the training curves (PNG) and the model card
(JSON for programs, Markdown for readers)."""

from __future__ import annotations

import json
from pathlib import Path


def write_curves(history: list[dict], path: Path, score_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display in a service
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    figure, loss_axis = plt.subplots(figsize=(7, 4), dpi=100)
    loss_axis.plot(epochs, [h["train_loss"] for h in history], color="tab:blue", marker=".", label="train loss")
    loss_axis.set_xlabel("epoch")
    loss_axis.set_ylabel("train loss", color="tab:blue")
    score_axis = loss_axis.twinx()
    score_axis.plot(epochs, [h["val_agreement"] for h in history], color="tab:orange", marker=".",
                    label=f"validation {score_name}")
    score_axis.set_ylabel(f"validation {score_name}", color="tab:orange")
    if history:
        best = max(history, key=lambda h: h["val_agreement"])
        score_axis.axvline(best["epoch"], color="grey", linestyle=":", linewidth=1)
        score_axis.annotate(f"kept: epoch {best['epoch']}", (best["epoch"], best["val_agreement"]),
                            textcoords="offset points", xytext=(4, -12), fontsize=8)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _figure(value, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def card_markdown(card: dict) -> str:
    if card.get("student_kind") == "causal-lm":
        return lm_card_markdown(card)
    m = card["metrics"]
    lineage = card.get("lineage", {})
    lines = [
        f"# {card['model']} ({card['student_kind']} student)", "",
        f"Distilled from `{lineage.get('teacher', {}).get('model', '?')}` "
        f"(version {lineage.get('teacher_version') or '?'}) on dataset `{lineage.get('dataset', '?')}`, "
        f"job `{lineage.get('job_id', '?')}`.", "",
        "## Quality on the test split", "",
        "| figure | value |", "|---|---|",
        f"| test texts | {_figure(m['test_rows'])} |",
        f"| agreement with the teacher | {_figure(m['agreement'])} |",
        f"| KL to the teacher | {_figure(m['kl_to_teacher'])} |",
        f"| gold accuracy (student) | {_figure(m.get('gold_accuracy'))} on {_figure(m.get('gold_rows', 0))} gold labels |",
        f"| gold accuracy (teacher) | {_figure(m.get('teacher_gold_accuracy'))} |",
        f"| relative accuracy (student / teacher) | {_figure(m.get('relative_accuracy'))} |", "",
        "## Speed on the machine that trained it (onnxruntime, CPU, one run)", "",
        "| | texts/s at batch 32 | p50, one text |", "|---|---|---|",
        f"| student | {_figure(m['student_texts_per_s'], 0)} | {_figure(m.get('student_p50_ms'), 2)} ms |",
        f"| teacher | {_figure(m['teacher_texts_per_s'], 0)} | {_figure(m.get('teacher_p50_ms'), 2)} ms |",
        f"| speed-up | {_figure(m['speedup'], 1)}x | |", "",
        f"Model size {m['size_bytes'] / 1e6:.1f} MB{' (int8)' if m.get('quantized') else ''}; "
        f"ONNX parity with torch: max abs difference {m['parity_max_abs_diff']:.1e}.",
    ]
    if card.get("int8"):
        int8 = card["int8"]
        lines += ["", "## int8", "",
                  f"Top class matches fp32 on {int8['top1_match_with_fp32']:.3f} of the test texts; max abs "
                  f"difference {int8['max_abs_diff_to_fp32']:.3g}. fp32: agreement {_figure(int8['fp32']['agreement'])}, "
                  f"{_figure(int8['fp32']['student_texts_per_s'], 0)} texts/s, {int8['fp32']['size_bytes'] / 1e6:.1f} MB."]
    t = card["training"]
    lines += ["", "## Training", "",
              f"{card['train_rows']:,} train and {card['val_rows']:,} validation rows; {card['epochs_run']} epochs "
              f"(best {card['best_epoch']}, early stopping after {t['patience']} without gain) in "
              f"{card['train_seconds']} s. Loss: {t['kd_weight']} x KD at T={t['temperature']} + "
              f"{1 - t['kd_weight']:.2f} x cross-entropy on {t['hard_labels']} labels; batch {t['batch_size']}, "
              f"learning rate {t['learning_rate']}.", "", "![training curves](training.png)", ""]
    return "\n".join(lines)


def lm_card_markdown(card: dict) -> str:
    """A generative student's card: what its answers are worth against the teacher's and the gold ones."""
    m, t, lineage = card["metrics"], card["training"], card.get("lineage", {})
    lines = [
        f"# {card['model']} (generative student: {len(card['teacher_layers_kept'])} of the teacher's layers)", "",
        f"Distilled from `{lineage.get('teacher', {}).get('model', '?')}` "
        f"(version {lineage.get('teacher_version') or '?'}) on dataset `{lineage.get('dataset', '?')}`, "
        f"job `{lineage.get('job_id', '?')}`; layers kept: {card['teacher_layers_kept']}.", "",
        "## Quality on the test split", "",
        "| figure | value |", "|---|---|",
        f"| test answers (teacher forcing) | {_figure(m['test_rows'])} |",
        f"| next-token agreement with the teacher | {_figure(m['agreement'])} |",
        f"| KL to the teacher's top-k (+ tail) | {_figure(m['kl_to_teacher'])} |",
        f"| ROUGE-L of greedy answers against the teacher's | {_figure(m.get('rouge_l_to_teacher'))} |",
        f"| ROUGE-L against the gold answers: student | {_figure(m.get('gold_accuracy'))} on "
        f"{_figure(m.get('gold_rows', 0))} prompts |",
        f"| ROUGE-L against the gold answers: teacher | {_figure(m.get('teacher_gold_accuracy'))} |",
        f"| student / teacher | {_figure(m.get('relative_accuracy'))} |", "",
        "## Speed on the machine that trained it (onnxruntime, CPU, greedy, batch 1, one run)", "",
        "| | output tokens/s |", "|---|---|",
        f"| student | {_figure(m['student_texts_per_s'], 1)} |",
        f"| teacher | {_figure(m['teacher_texts_per_s'], 1)} |",
        f"| speed-up | {_figure(m['speedup'], 2)}x |", "",
        f"Model size {m['size_bytes'] / 1e6:.1f} MB; ONNX parity with torch: max abs logit difference "
        f"{m['parity_max_abs_diff']:.1e}, greedy tokens identical.", "",
        *([f"Output head: its own, over {m['head_tokens']:,} of the teacher's {card['vocab_size']:,} "
           f"tokens (those its training answers use most); they cover {m['head_coverage']:.1%} of the test "
           "answers' tokens, and it never writes any other.", ""] if m.get("head_tokens") else []),
        *_int8_lines(card.get("quantization")),
        "## Training", "",
        f"{card['train_rows']:,} train and {card['val_rows']:,} validation answers; {card['epochs_run']} epochs "
        f"(kept: {card['best_epoch']}, the lowest validation loss) in {card['train_seconds']} s. Loss: "
        + {"sequence": "cross-entropy on the teacher's tokens",
           "sequence+topk": f"cross-entropy on the teacher's tokens + {t['topk_weight']} x KL on its top-k with a tail",
           "sequence+topk+gold": f"cross-entropy on the teacher's tokens and on the gold answers + "
                                 f"{t['topk_weight']} x KL on the teacher's top-k with a tail",
           "gold": "cross-entropy on the gold answers (no teacher)"}[t["lm_loss"]]
        + f"; batch {t['batch_size']}, learning rate {t['learning_rate']}, embedding "
        f"{'trained' if t['train_embeddings'] else 'frozen'}.", "", "![training curves](training.png)", "",
        "## Samples", ""]
    for sample in card.get("samples", []):
        lines += [f"- **{sample['prompt']}**", f"  - student: {sample['student']}", f"  - teacher: {sample['teacher']}",
                  f"  - gold: {sample['gold']}"]
    return "\n".join(lines) + "\n"


def _int8_lines(quantization: dict | None) -> list[str]:
    if not quantization:
        return []
    q = quantization["quality_cost"]
    return [f"Served with int8 weights ({quantization['scheme']}; fp32 graph {quantization['size_bytes_fp32'] / 1e6:.1f} "
            f"MB, kept as model.fp32.onnx). The figures above are the int8 model's, its speed-up against the "
            f"teacher's weights quantised the same way. Against its own fp32 graph on {q['prompts']} test prompts "
            f"({q['greedy_tokens']} greedy tokens): ROUGE-L {q['rouge_l_vs_fp32']:.3f}, exact match "
            f"{q['exact_match_vs_fp32']:.3f}, first-token agreement {q['first_token_agreement']:.3f}.", ""]


def write_card(out: Path, card: dict) -> None:
    (out / "card.json").write_text(json.dumps(card, indent=2, default=str))
    (out / "card.md").write_text(card_markdown(card))
