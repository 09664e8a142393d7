"""Watermarking generated text with a keyed green list (Kirchenbauer et al. 2023), and the test that
says whether texts came from it.

At every step a keyed hash of the previous token splits the vocabulary into a green list (a share
GAMMA of it) and the rest, and the sampler adds `delta` to the green tokens' logits. Text from the
API then holds more green tokens than chance; text made without the key holds a share GAMMA of
them, whoever wrote it, because without the key the split is a fresh coin per (context, token).

Why each (context, token) pair is scored once ("Three Bricks", Fernandez et al. 2023): a phrase
repeated across texts is one draw, not many; counted again and again it would inflate the score of
ordinary text that repeats itself. With every pair once, the green count of text we did not make
is Binomial(pairs, GAMMA) and the p-value is exact.

GAMMA and the context width are part of the scheme (versioned in the hash's domain), not settings:
the test must split the vocabulary exactly as the server did. Only the strength, delta, is the
server's to choose. The split's secret is the newest watermark key (WATERMARK_KEYS, the same Secret
as the classifiers' answer watermark), under its own domain.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from shared.watermark import WatermarkKey, log_binomial_tail

GAMMA = 0.25  # the green share of the vocabulary (Kirchenbauer et al.: 0.25 detects soonest at a given delta)
CONTEXT = 1  # tokens hashed: one previous token survives edits best, and is what the detector needs to know
_DOMAIN = b"distillery-text-watermark-v1\0"
_THRESHOLD = np.uint64(int(GAMMA * 2**64))
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a bijection of 64-bit words that spreads every input bit over the output,
    vectorised, so one keyed seed per context splits the whole vocabulary in well under a millisecond."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class GreenList:
    """The key's split of the vocabulary after each context."""

    key: WatermarkKey

    def seed(self, context: Sequence[int]) -> np.uint64:
        message = _DOMAIN + b"".join(int(t).to_bytes(4, "big", signed=True) for t in context[-CONTEXT:])
        return np.uint64(int.from_bytes(hmac.new(self.key.secret, message, hashlib.sha256).digest()[:8], "big"))

    def is_green(self, context: Sequence[int], tokens: np.ndarray) -> np.ndarray:
        """Whether each of `tokens` is green after `context` (its last CONTEXT tokens count)."""
        return _mix(np.asarray(tokens, dtype=np.uint64) ^ self.seed(context)) < _THRESHOLD

    def vocabulary_mask(self, context: Sequence[int], size: int) -> np.ndarray:
        """The green tokens among ids 0..size-1 after `context`, read-only; the most recent contexts are
        kept (a sampler meets the same common tokens again and again)."""
        return _vocabulary_mask(self, tuple(int(t) for t in context[-CONTEXT:]), size)


@functools.lru_cache(maxsize=256)  # 256 contexts of 49,152 tokens: 12 MB
def _vocabulary_mask(green: GreenList, context: tuple[int, ...], size: int) -> np.ndarray:
    mask = green.is_green(context, np.arange(size, dtype=np.uint64))
    mask.flags.writeable = False
    return mask


@dataclass
class WatermarkProcessor:
    """A sampler's logits processor (shared.generation.LogitsProcessor): adds `delta` to the green
    tokens after the last token so far. Greedy decoding is marked too: a green token within `delta`
    of the best one wins."""

    green: GreenList
    delta: float

    def __call__(self, prompt_ids: list[int], generated: list[int], logits: np.ndarray) -> np.ndarray:
        context = (prompt_ids + generated)[-CONTEXT:] if len(generated) < CONTEXT else generated[-CONTEXT:]
        return logits + np.float32(self.delta) * self.green.vocabulary_mask(context, len(logits))


@dataclass
class TextTest:
    """The one-sided test of green tokens against the null of text made without the key."""

    key_id: str
    texts: int
    tokens: int  # tokens after a context, in all the texts
    scored: int  # distinct (context, token) pairs: each counts once
    green: int

    @property
    def expected(self) -> float:
        return GAMMA * self.scored

    @property
    def z(self) -> float:
        return (self.green - self.expected) / math.sqrt(self.scored * GAMMA * (1 - GAMMA)) if self.scored else 0.0

    @property
    def log10_p_value(self) -> float:
        return log_binomial_tail(self.green, self.scored, GAMMA) / math.log(10)

    @property
    def p_value(self) -> float:
        return 10 ** self.log10_p_value


def score_texts(key: WatermarkKey, texts: Iterable[list[int]],
                alternatives: Iterable[list[list[int]]] | None = None) -> TextTest:
    """Green pairs among the distinct (context, token) pairs of token sequences (each text's first
    CONTEXT tokens have no context we know, so they are not scored).

    `alternatives` (a model's logits, where we have them): per text, per position, the tokens the
    model ranked highest there (its top k). Each is one more pair with that position's context,
    scored once like the rest. Which tokens a model ranks highest does not depend on our key unless
    it learnt from text made with it, so under the null each distinct pair is still green with
    probability GAMMA; a model distilled from our answers (and their top-k logprobs) ranks green
    tokens higher all through its distribution, not only at its first choice."""
    by_context: dict[tuple[int, ...], set[int]] = {}
    n_texts = tokens = 0
    for ids, others in zip(texts, itertools.repeat([]) if alternatives is None else alternatives):
        n_texts += 1
        for i in range(CONTEXT, len(ids)):
            tokens += 1
            following = by_context.setdefault(tuple(ids[i - CONTEXT:i]), set())
            following.add(ids[i])
            following.update(others[i] if i < len(others) else ())
    return _green_pairs(key, by_context, n_texts, tokens)


def _green_pairs(key: WatermarkKey, by_context: dict[tuple[int, ...], set[int]], texts: int, tokens: int) -> TextTest:
    """The test over distinct (context, token) pairs, gathered per context."""
    green = GreenList(key)
    hits = sum(int(green.is_green(context, np.fromiter(following, dtype=np.uint64)).sum())
               for context, following in by_context.items() if following)
    return TextTest(key.key_id, texts, tokens, sum(len(f) for f in by_context.values()), hits)


def score_reading(key: WatermarkKey, readings: Iterable[tuple[list[int], list[int], list[list[int]]]]) -> TextTest:
    """The test of a model we can run, read rather than asked ("reading mode", Sander et al. 2024):
    it is fed texts our API wrote under the key, and at every position the tokens it ranks highest
    there are scored with that position's context. A model trained on our marked text predicts green
    tokens after the contexts it learnt them in, and here every position of every marked text asks
    it, not only the few contexts its own greedy answers reach.

    `readings`: (prompt ids, text ids, per text position the model's top tokens before seeing it).

    Why the null holds although the texts themselves are marked: the model's prediction at a position
    depends only on the tokens before it, and those were chosen under other contexts' green lists,
    unless the context already occurred earlier in the same text, where a token was chosen after it
    (green-biased) that the model could copy. So a context is scored at its first use in a text only,
    what is scored is the model's ranking (never the text's own tokens), and each distinct (context,
    token) pair counts once over all texts, as in `score_texts`."""
    by_context: dict[tuple[int, ...], set[int]] = {}
    n_texts = positions = 0
    for prompt, ids, predicted in readings:
        n_texts += 1
        sequence, used = [*prompt, *ids], set()
        for i, tops in enumerate(predicted[:len(ids)]):
            context = tuple(sequence[len(prompt) + i - CONTEXT:len(prompt) + i])
            if len(context) < CONTEXT or context in used:
                continue
            used.add(context)
            positions += 1
            by_context.setdefault(context, set()).update(tops)
    return _green_pairs(key, by_context, n_texts, positions)
