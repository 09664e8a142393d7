"""teacher-lm as built: its ONNX graph generates what transformers generates, and serving it needs
neither torch nor transformers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def hf_teacher():
    from services.trainer.teacher_lm import load_hf_teacher

    return load_hf_teacher()


def test_onnx_greedy_tokens_and_logits_match_transformers(teacher_lm_dir, hf_teacher):
    from services.trainer.teacher_lm import LOGIT_TOLERANCE, PARITY_PROMPTS, check_parity

    parity = check_parity(hf_teacher[0], teacher_lm_dir)  # raises ParityError on any difference
    assert parity["prompts"] == len(PARITY_PROMPTS) and parity["greedy_mismatches"] == 0
    assert parity["max_abs_logit_diff"] < LOGIT_TOLERANCE


async def test_a_suspect_shared_as_safetensors_is_asked_as_its_onnx_build_is(teacher_lm_dir, hf_teacher, tmp_path):
    """`distillery verify --safetensors`: a Hugging Face folder (teacher-lm's weights, never marked)
    answers our prompts as its ONNX build does, and is not named; a folder that is not one is refused."""
    from cli.verify import OnnxChatSuspect, SafetensorsChatSuspect, VerifyError, probe_prompts, verify_generative
    from shared.generation import ChatFormat
    from shared.tokens import vocabulary_by_bytes
    from shared.watermark import parse_keys

    model, tokenizer = hf_teacher
    # Shared as a thief would: fp32 weights de-quantised from the GGUF (not the GGUF's own quantizer).
    model.hf_quantizer = None
    model.config.__dict__.pop("quantization_config", None)
    model.save_pretrained(tmp_path / "hf")
    tokenizer.save_pretrained(tmp_path / "hf")
    prompts = probe_prompts(4)
    suspect = SafetensorsChatSuspect(tmp_path / "hf" / "model.safetensors", max_tokens=16)
    assert suspect.description["kind"] == "safetensors"
    answers = await suspect.generate(prompts)
    assert answers == await OnnxChatSuspect(teacher_lm_dir, max_tokens=16).generate(prompts)
    # Their logits read the same way: the tokens written, and the top 20 at each (ties at the edge aside).
    vocabulary = vocabulary_by_bytes(ChatFormat(teacher_lm_dir).tokenizer)
    hf_ranked = await suspect.ranked(prompts, 20, vocabulary)
    onnx_ranked = await OnnxChatSuspect(teacher_lm_dir, max_tokens=16).ranked(prompts, 20, vocabulary)
    assert [a.text for a in hf_ranked] == answers and [a.ids for a in hf_ranked] == [a.ids for a in onnx_ranked]
    shared = [len(set(h) & set(o)) / 20 for a, b in zip(hf_ranked, onnx_ranked, strict=True)
              for h, o in zip(a.alternatives, b.alternatives, strict=True)]
    assert shared and sum(shared) / len(shared) > 0.9
    result, _ = await verify_generative(suspect, prompts, ChatFormat(teacher_lm_dir).encode,
                                        parse_keys("st-test:" + "fixed-secret-" * 3))
    assert result.verdict == "no evidence" and result.suspect["queries"] == 4
    # Fed the same answers, both builds rank the same best token at (nearly) every position.
    pairs = list(zip(prompts, answers, strict=True))
    hf_read, onnx_read = await suspect.read(pairs, 1, vocabulary), await OnnxChatSuspect(teacher_lm_dir).read(pairs, 1, vocabulary)
    assert [r.text for r in hf_read] == [r.text for r in onnx_read] and [r.prompt for r in hf_read] == [r.prompt for r in onnx_read]
    same = [h == o for a, b in zip(hf_read, onnx_read, strict=True) for h, o in zip(a.predicted, b.predicted, strict=True)]
    assert same and sum(same) / len(same) > 0.95
    (tmp_path / "empty").mkdir()
    with pytest.raises(VerifyError, match="not a Hugging Face chat model folder"):
        SafetensorsChatSuspect(tmp_path / "empty")


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


def test_a_prompt_that_begins_as_an_earlier_one_runs_only_its_new_tokens(teacher_lm_dir):
    """Prefix caching: a prompt that shares the chat template's system prompt and more with an earlier
    one reuses that prefix's cache in whole blocks, runs only the rest, joins the rows in flight and
    decodes as it does alone."""
    import threading

    import numpy as np

    from shared.generation import Engine, LanguageModel, SamplingParams, Sequence

    lm = LanguageModel(teacher_lm_dir, device="cpu")
    ids = [lm.encode(lm.render_chat([{"role": "user", "content": f"Define the word '{word}' in one sentence."}]))
           for word in ("harbor", "anchor", "harbor")]
    alone = [[t for t in lm.greedy(p, 10)[0] if t not in lm.eos_token_ids] for p in ids]
    # One prompt a step: each is run after the one before it, then joins it in the batch.
    engine = Engine(lm, max_batch=3, max_prefill_tokens=1, prefix_cache_bytes=64 << 20)
    engine.start()
    done = threading.Semaphore(0)
    seqs = [Sequence(p, SamplingParams(max_tokens=10, temperature=0.0),
                     lambda step: done.release() if step.finish_reason else None) for p in ids]
    for seq in seqs:
        engine.submit(seq)
    for _ in seqs:
        assert done.acquire(timeout=120)
    engine.stop()
    assert engine.prefix_cache is not None
    block = engine.prefix_cache.block
    shared = next(i for i, (a, b) in enumerate(zip(ids[0], ids[1], strict=False)) if a != b)
    assert shared > block  # the system prompt and the question's words before the lemma
    assert [s.cached_tokens for s in seqs] == [0, shared // block * block, (len(ids[2]) - 1) // block * block]
    assert [s.generated for s in seqs] == alone
    assert engine.stats.cached_prompt_tokens == sum(s.cached_tokens for s in seqs)
    # The first logits from a cached prefix are the full prompt's, to float noise.
    cached, past = engine.prefix_cache.match(ids[1])
    assert np.allclose(lm.prefill_after(ids[1], cached, past)[0], lm.prefill([ids[1]])[0], atol=1e-3)


def test_the_prefix_cache_keeps_whole_blocks_within_its_bytes():
    import numpy as np

    from shared.generation import PrefixCache

    def kv(length: int) -> list[np.ndarray]:  # one layer's key and value, batch 1, 2 heads of 4
        return [np.arange(length * 8, dtype=np.float32).reshape(1, 2, length, 4) + i for i in range(2)]

    block_bytes = 2 * 2 * 4 * 4 * 4  # two arrays of 2 heads x 4 positions x 4 floats
    cache = PrefixCache(max_bytes=3 * block_bytes, block=4)
    cache.store(list(range(10)), kv(10))  # two whole blocks; the last 2 tokens are no block
    assert len(cache) == 2 and cache.bytes == 2 * block_bytes
    cached, past = cache.match([*range(10), 99])
    assert cached == 8 and [a.shape for a in past] == [(1, 2, 8, 4)] * 2
    assert np.array_equal(past[0], kv(10)[0][:, :, :8])
    assert cache.match(list(range(8)))[0] == 4  # at least one token is left to run
    assert cache.match([0, 1, 2, 7, 4, 5, 6, 7, 8])[0] == 0  # a block is keyed by every token before its end
    assert cache.match([9, 9, 9, 9, 4, 5, 6, 7, 8])[0] == 0
    cache.store([5, 5, 5, 5, 6, 6, 6, 6], kv(8))  # over the bound: the least recently used block goes,
    assert len(cache) == 3 and cache.bytes == 3 * block_bytes
    assert cache.match(list(range(10)))[0] == 4  # and a chain loses its end before its beginning


def test_teacher_forcing_ranks_what_greedy_decoding_wrote_first_batched_or_alone(teacher_lm_dir):
    """`verify --read`'s pass: fed its own greedy answer, a model's best token at every position is
    the one it wrote; texts of different lengths read together read as they do alone."""
    from shared.generation import LanguageModel

    lm = LanguageModel(teacher_lm_dir, device="cpu")
    prompts = [lm.encode(lm.render_chat([{"role": "user", "content": p}]))
               for p in ("Define the word 'harbor' in one sentence.", "Hi")]
    texts = [[t for t in lm.greedy(p, n)[0] if t not in lm.eos_token_ids] for p, n in zip(prompts, (14, 6), strict=True)]
    together = lm.forced_top_k(prompts, texts, 5)
    assert [[top[0] for top in ranked] for ranked in together] == texts
    assert [lm.forced_top_k([p], [t], 5)[0] for p, t in zip(prompts, texts, strict=True)] == together


def test_verify_reads_our_answers_through_a_model_file(teacher_lm_dir, tmp_path, monkeypatch, capsys):
    """`distillery verify --onnx FOLDER --read FILE`: teacher-lm (never trained on marked text) reads
    answers marked under our key and is not named; an endpoint cannot read, and says so."""
    import json

    from cli.__main__ import main
    from shared.generation import LanguageModel
    from shared.text_watermark import GreenList, WatermarkProcessor
    from shared.watermark import parse_keys

    secret = "read-test:" + "fixed-secret-" * 3
    marker = WatermarkProcessor(GreenList(parse_keys(secret)[0]), 1.0)
    lm = LanguageModel(teacher_lm_dir, device="cpu")
    rows = []
    for word in ("harbor", "lantern", "meadow", "violin"):
        question = f"Define the word '{word}' in one sentence."
        ids = lm.encode(lm.render_chat([{"role": "user", "content": question}]))
        answer = [t for t, _ in lm.greedy_steps(ids, 24, marker) if t not in lm.eos_token_ids]
        rows.append({"prompt": question, "answer": lm.decode(answer)})
    (tmp_path / "ours.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("WATERMARK_KEYS", secret)
    main(["verify", "--onnx", str(teacher_lm_dir), "--read", str(tmp_path / "ours.jsonl"), "--tokenizer",
          str(teacher_lm_dir), "--out", str(tmp_path / "report")])
    printed = capsys.readouterr().out
    assert "read 4 of our answers" in printed and "verdict: no evidence" in printed
    report = json.loads(next((tmp_path / "report").glob("*.json")).read_text())
    assert report["suspect"]["mode"] == "reading" and report["keys"][0]["pairs_scored"] > 100
    with pytest.raises(SystemExit, match="--read needs a model run here"):
        main(["verify", "--openai", "http://127.0.0.1:9/v1", "--model", "m", "--read", str(tmp_path / "ours.jsonl"),
              "--tokenizer", str(teacher_lm_dir)])


def test_serving_imports_neither_torch_nor_transformers():
    code = ("import sys, shared.generation, services.inference.generative, services.inference.openai_api, "
            "services.inference.oip_generate; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
