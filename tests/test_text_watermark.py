"""The generations' green-list watermark and the text test: the split, the processor, and p-values
that are correct under the null on ordinary text (WordNet's glosses, written without our key)."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from cli.verify import VerifyError, read_texts, verify_texts
from shared.text_watermark import GAMMA, GreenList, WatermarkProcessor, score_texts
from shared.watermark import WatermarkKey

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = np.arange(49_152, dtype=np.uint64)


def key(name: str) -> WatermarkKey:
    return WatermarkKey(name, hashlib.sha256(name.encode()).hexdigest().encode())


@pytest.fixture(scope="module")
def glosses(teacher_lm_dir) -> list[list[int]]:
    from shared.generation import ChatFormat

    chat = ChatFormat(teacher_lm_dir)
    with gzip.open(ROOT / "data/wordnet/definitions.jsonl.gz", "rt") as f:
        texts = [json.loads(line)["gloss"] for line in f][:1500]
    return [chat.encode(text) for text in texts]


def test_the_green_list_is_a_quarter_of_the_vocabulary_drawn_afresh_per_key_and_context():
    first = GreenList(key("a")).is_green([17], VOCABULARY)
    assert abs(first.mean() - GAMMA) < 0.01
    assert np.array_equal(first, GreenList(key("a")).is_green([5, 17], VOCABULARY))  # the last token is the context
    for other in (GreenList(key("a")).is_green([18], VOCABULARY), GreenList(key("b")).is_green([17], VOCABULARY)):
        assert abs((first & other).mean() - GAMMA ** 2) < 0.01  # independent splits


def test_the_processor_raises_the_green_tokens_after_the_last_token_only():
    green = GreenList(key("a"))
    logits = np.random.default_rng(0).normal(size=len(VOCABULARY)).astype(np.float32)
    marked = WatermarkProcessor(green, 2.0)([1, 2, 3], [40, 41], logits)
    expected = green.is_green([41], VOCABULARY)
    assert np.allclose(marked - logits, 2.0 * expected) and marked.dtype == np.float32
    first = WatermarkProcessor(green, 2.0)([1, 2, 3], [], logits)  # the first token follows the prompt
    assert np.allclose(first - logits, 2.0 * green.is_green([3], VOCABULARY))


def test_a_phrase_repeated_counts_once():
    ids = [5, 9, 12, 9, 12, 30]
    once, often = score_texts(key("a"), [ids]), score_texts(key("a"), [ids] * 50 + [ids[:3]])
    assert (once.scored, once.green) == (often.scored, often.green) == (once.scored, once.green)
    assert once.scored == 4 and often.tokens == 50 * 5 + 2  # (5,9) (9,12) (12,9) (12,30)


def test_p_values_hold_under_the_null_on_ordinary_text(glosses):
    # Each gloss on its own under one key: at most about 1% below 0.01 (binomial p-values of short
    # texts are conservative, never optimistic).
    per_text = [score_texts(key("served"), [ids]).p_value for ids in glosses]
    assert sum(p < 0.01 for p in per_text) / len(per_text) <= 0.015
    assert sum(p < 0.1 for p in per_text) / len(per_text) <= 0.12
    # The whole corpus under 40 keys: its p-values spread like uniform draws.
    corpus = [score_texts(key(f"null-{i}"), glosses) for i in range(40)]
    assert all(t.scored > 5000 for t in corpus)
    assert sum(t.p_value < 0.05 for t in corpus) <= 6  # 2 expected; 6 or more has probability < 0.01
    assert sum(t.p_value > 0.5 for t in corpus) >= 12  # 20 expected
    assert max(abs(t.z) for t in corpus) < 4


def test_verify_texts_names_marked_text_and_corrects_for_trying_several_keys(glosses):
    served, old = key("served"), key("old")
    rng = np.random.default_rng(1)
    green = GreenList(served)
    marked = []  # text as a watermarked sampler writes it: green tokens three times likelier than chance
    for _ in range(20):
        ids = [int(rng.integers(49_152))]
        for _ in range(30):
            mask = green.is_green(ids[-1:], VOCABULARY)
            weights = np.where(mask, 3.0, 1.0)
            ids.append(int(rng.choice(len(VOCABULARY), p=weights / weights.sum())))
        marked.append(ids)
    by_text = {f"t{i}": ids for i, ids in enumerate(marked)}
    result = verify_texts(list(by_text), by_text.__getitem__, [old, served], alpha=1e-6)
    assert result.verdict == "watermarked" and result.tests[1].green > 2 * result.tests[1].expected
    assert result.log10_p_value == pytest.approx(result.tests[1].log10_p_value + math.log10(2))
    plain = {f"g{i}": ids for i, ids in enumerate(glosses[:300])}
    assert verify_texts(list(plain), plain.__getitem__, [served], alpha=1e-6).verdict == "no evidence"


def test_a_suspects_two_tests_count_as_two_in_its_p_value():
    """With a suspect's logits there are two tests per key, its top k scored and its own tokens
    alone: the verdict takes the stronger, times the tests tried, so it can only name a model the
    stronger test names with room to spare."""
    from cli.verify import TextVerification
    from shared.text_watermark import TextTest

    ranked = [TextTest("new", 10, 300, 1000, 280), TextTest("old", 10, 300, 1000, 250)]
    written = [TextTest("new", 10, 300, 200, 110), TextTest("old", 10, 300, 200, 50)]
    result = TextVerification(ranked, 1e-6, "teacher-lm", suspect={"kind": "onnx"}, generated_only=written)
    assert written[0].log10_p_value < ranked[0].log10_p_value
    assert result.log10_p_value == pytest.approx(written[0].log10_p_value + math.log10(4))
    assert result.verdict == "derived"
    alone = TextVerification(ranked, 1e-6, "teacher-lm", suspect={"kind": "onnx"})
    assert alone.log10_p_value == pytest.approx(ranked[0].log10_p_value + math.log10(2))


def test_texts_are_read_from_jsonl_or_plain_lines(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "one"}\n"two"\n{"completion": "three"}\n')
    (tmp_path / "b.txt").write_text("one line\n\nanother\n")
    (tmp_path / "c.jsonl").write_text('{"text": "one"}\n{"answer": 2}\n')
    assert read_texts(tmp_path / "a.jsonl") == ["one", "two", "three"]
    assert read_texts(tmp_path / "b.txt") == ["one line", "another"]
    with pytest.raises(VerifyError, match=r"c\.jsonl:2"):
        read_texts(tmp_path / "c.jsonl")


def test_reading_scores_a_context_at_its_first_use_in_a_text_and_each_pair_once():
    from shared.text_watermark import score_reading

    prompt, text = [1, 2, 3], [9, 12, 9, 14]
    # Predictions before each of the text's tokens: after 3, after 9, after 12, after 9 again.
    predicted = [[9, 40], [12], [9], [77]]
    test = score_reading(key("a"), [(prompt, text, predicted)])
    # The second use of context 9 is skipped: a model could copy what followed it the first time.
    assert (test.tokens, test.scored) == (3, 4)  # (3,9) (3,40) (9,12) (12,9)
    twice = score_reading(key("a"), [(prompt, text, predicted)] * 2)
    assert (twice.scored, twice.green) == (test.scored, test.green) and twice.tokens == 6


def test_reading_a_marked_text_names_a_model_that_learnt_it_and_not_one_that_did_not(glosses):
    """An unmarked model's predictions are a fresh coin per (context, token) whatever text it reads;
    a model that learnt the marked text predicts its (green) tokens."""
    from shared.text_watermark import score_reading

    served = GreenList(key("served"))
    vocabulary = 49_152
    rng = np.random.default_rng(3)
    texts: list[list[int]] = []
    for gloss in glosses[:300]:  # each gloss rewritten the way a marker would: a green token where it can
        text = [gloss[0]]
        for token in gloss[1:]:
            green = served.is_green([text[-1]], np.array([token], dtype=np.uint64))[0]
            text.append(token if green or rng.random() < 0.5 else int(rng.choice(
                np.flatnonzero(served.vocabulary_mask([text[-1]], vocabulary)))))
        texts.append(text)
    prompt = [1, 2, 3]
    learnt = [(prompt, t, [[token] for token in t]) for t in texts]  # predicts each next token, as it memorised
    innocent = [(prompt, t, [rng.integers(0, vocabulary, 5).tolist() for _ in t]) for t in texts]
    assert score_reading(key("served"), learnt).log10_p_value < -20
    assert score_reading(key("served"), innocent).p_value > 0.01
    assert score_reading(key("other"), learnt).p_value > 0.01  # another key: no evidence


def test_answers_to_read_are_prompt_answer_pairs_and_a_bad_line_is_named(tmp_path):
    from cli.verify import read_pairs

    good = tmp_path / "ours.jsonl"
    good.write_text('{"prompt": "Define x.", "answer": "A letter."}\n\n{"prompt": "Hi", "completion": "Hello."}\n')
    assert read_pairs(good) == [("Define x.", "A letter."), ("Hi", "Hello.")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "Define x.", "answer": "A letter."}\n{"text": "no prompt"}\n')
    with pytest.raises(VerifyError, match=r"bad.jsonl:2: each line must be an object with a string \"prompt\""):
        read_pairs(bad)
