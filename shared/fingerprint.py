"""Text fingerprints that let the detector compare queries without keeping their text: SHA-256 of
the normalised text (exact repeats), an 8-value MinHash of its word shingles (near duplicates and
templates: texts that differ in a few words agree on most of them), and the share of its words
that are English function words (language-like or not). Of chat prompts also their topics (the
WordNet supersenses of their nouns) and whether they ask for step-by-step reasoning.

`batch_fingerprints` computes them for many texts at once: the words of each text are found once,
and every text's features are hashed together and reduced per text with numpy, so the inference
service pays a few microseconds a text, off its request path, in the batches it publishes."""

from __future__ import annotations

import functools
import gzip
import hashlib
import ipaddress
import re
import zlib
from pathlib import Path

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


# Feature hashing here uses zlib.crc32: fast, and the same in every process (Python's hash() is
# salted per process).

def _hashes(features: list[str]) -> np.ndarray:
    return np.fromiter((zlib.crc32(f.encode("utf-8")) for f in features), dtype=np.uint32, count=len(features))


MINHASH_PERMUTATIONS = 8
_MERSENNE = (1 << 61) - 1
_PERMUTATION_A = np.array([0x9E3779B1 + 2 * i * 0x85EBCA77 for i in range(MINHASH_PERMUTATIONS)], dtype=np.uint64)
_PERMUTATION_B = np.array([0xC2B2AE3D * (i + 1) for i in range(MINHASH_PERMUTATIONS)], dtype=np.uint64)


def _minhashes(word_lists: list[list[str]]) -> list[list[int]]:
    """An 8-value MinHash of each text's word 3-shingles: two texts agree on each value with
    probability equal to their shingles' Jaccard similarity, so texts built from one template (or
    perturbed from one seed) agree on many values while unrelated texts agree on almost none. All
    texts' shingles are hashed together and reduced per text."""
    shingles: list[str] = []
    offsets = []
    for words in word_lists:
        offsets.append(len(shingles))
        shingles += [" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))] if words else [""]
    h = _hashes(shingles).astype(np.uint64)
    # Universal hashing mod a Mersenne prime, on 32-bit inputs: no overflow in 64 bits.
    permuted = (h[:, None] * (_PERMUTATION_A & 0x7FFFFFFF) + _PERMUTATION_B) % _MERSENNE
    lowest = np.minimum.reduceat(permuted, offsets, axis=0) & 0xFFFFFFFF
    return lowest.astype(np.int64).tolist()


def text_minhash(text: str) -> list[int]:
    return _minhashes([_WORD.findall(text.casefold())])[0]


def peer_address(peer: str) -> str:
    """gRPC's peer string ("ipv4:10.1.2.3:5555", "ipv6:[::1]:5555") -> the address alone."""
    kind, _, rest = peer.partition(":")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    return ""


@functools.lru_cache(maxsize=65536)  # per request on the serving path; callers' addresses repeat
def network_of(address: str) -> str:
    """The network an address belongs to, as accounts behind one NAT or one cloud subnet share it:
    its /24 for IPv4, its /48 for IPv6; "" when it is not an address."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


# English function words: about 40-55% of the words of ordinary prose (definitions, questions,
# documentation), and almost none of word salad drawn from a vocabulary. Their share tells a
# language-like query from a synthetic one without comparing it with any training data.
_FUNCTION_WORDS = """
a about above after again against all am an and any are as at be because been before being below
between both but by can could did do does doing down during each few for from further had has have
having he her here hers him his how i if in into is it its itself just me more most my no nor not
of off on once only or other our out over own same she should so some such than that the their
them then there these they this those through to too under until up very was we were what when
where which while who whom why will with would you your
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())
NATURALNESS_MIN_WORDS = 6


def _function_word_share(words: list[str]) -> float | None:
    if len(words) < NATURALNESS_MIN_WORDS:
        return None
    return round(sum(w in FUNCTION_WORDS for w in words) / len(words), 3)


def function_word_share(text: str) -> float | None:
    """The share of a text's words that are English function words; None under
    NATURALNESS_MIN_WORDS words, where a short phrase ("decide irrevocably") says nothing."""
    return _function_word_share(_WORD.findall(text.casefold()))


def batch_fingerprints(texts: list[str], word_lists: list[list[str]] | None = None) -> list[dict]:
    """Every fingerprint an `inference.requests` event carries of each text, by field name
    (`word_lists`: the texts' words, when the caller has found them already)."""
    word_lists = word_lists if word_lists is not None else [_WORD.findall(text.casefold()) for text in texts]
    minhashes = _minhashes(word_lists) if texts else []
    return [{"text_sha256": text_sha256(text), "text_chars": len(text), "text_minhash": minhash,
             "text_function_words": _function_word_share(words)}
            for text, words, minhash in zip(texts, word_lists, minhashes)]


def fingerprints(text: str) -> dict:
    return batch_fingerprints([text])[0]


# ---- chat prompts -------------------------------------------------------------------------------

NOUN_TOPICS = Path(__file__).resolve().parent.parent / "data" / "wordnet" / "noun-topics.tsv.gz"
MAX_PROMPT_NOUNS = 8
# Asking for the reasoning, not only the answer: what distillation of a reasoning model harvests.
# Requests for the model's own reasoning, its rationale or its working, however phrased; not for
# the steps of a task ("what steps does a recipe have?", "describe the steps to install it").
_REASONING = re.compile(
    r"step[- ]by[- ]step|chain[- ]of[- ]thought|thought process|line of reasoning|scratch ?pad|<think>"
    r"|show (?:me )?(?:your|the|all|each|every) (?:work|working|reasoning|steps|derivation|calculations?|logic)\b"
    r"|(?:explain|justify|walk (?:me|us) through|talk (?:me|us) through|spell out|lay out)"
    r" (?:your|the|each|every|all) (?:reasoning|steps?|thinking|logic|rationale|intermediate)"
    r"|(?:give|include|state|provide|add) (?:your|the|a|a short) (?:reasoning|rationale|justification|derivation)"
    r"|how you (?:got|arrived|reached|came to|worked)"
    r"|think (?:carefully|it through|aloud|out loud|through|hard|step)|let'?s think"
    r"|reason (?:carefully|through|about it|it out|step)|(?:first|then) (?:think|reason)\b"
    r"|before (?:you )?(?:answer|giving|respond|replying)|each step of (?:your|the) (?:thinking|reasoning|solution)",
    re.IGNORECASE)


@functools.cache
def noun_topics() -> dict[str, tuple[str, int]]:
    """Every single-word WordNet noun's supersense (its most frequent sense's: "animal", "food",
    ...) and how common it is (its tags in WordNet's semantic concordance), from the shipped table
    (scripts/make_wordnet_sample.py --only topics)."""
    table = {}
    with gzip.open(NOUN_TOPICS, "rt", encoding="utf-8") as f:
        for line in f:
            lemma, topic, count = line.rstrip("\n").split("\t")
            table[lemma] = (topic, int(count))
    return table


@functools.cache
def topic_names() -> tuple[str, ...]:
    return tuple(sorted({topic for topic, _ in noun_topics().values()}))


def _noun(word: str) -> tuple[str, int] | None:
    table = noun_topics()
    if word in FUNCTION_WORDS or len(word) < 3:
        return None
    for candidate in (word, word[:-3] + "y" if word.endswith("ies") else "", word[:-2] if word.endswith("es") else "",
                      word[:-1] if word.endswith("s") else ""):
        if candidate and candidate in table:
            return table[candidate]
    return None


def prompt_nouns(words: list[str]) -> tuple[list[str], list[int]]:
    """A prompt's nouns, rarest first (at most MAX_PROMPT_NOUNS): the supersense of each, and a
    16-bit hash of each (which tells a noun the client used before from a new one, without
    keeping the word). What a request is about, without its words: "tapir" in "for a project,
    what is a tapir?" is an animal, and new; a template's fixed words are the same in every
    prompt, so only its first prompt has them new."""
    seen: dict[str, tuple[str, int]] = {}
    for word in words:
        noun = _noun(word)
        if noun is not None and word not in seen:
            seen[word] = noun
    ordered = sorted(seen.items(), key=lambda item: item[1][1])[:MAX_PROMPT_NOUNS]  # stable: equally rare in order
    return [topic for _, (topic, _) in ordered], [zlib.crc32(word.encode()) & 0xFFFF for word, _ in ordered]


def asks_for_reasoning(text: str) -> bool:
    return _REASONING.search(text) is not None


def batch_prompt_fingerprints(texts: list[str], instructions: list[str] | None = None) -> list[dict]:
    """What an `inference.generations` event carries of each prompt: the fingerprints of
    `batch_fingerprints`, its nouns' topics and hashes, and whether it asks for reasoning, in the
    prompt or in its request's system messages (`instructions`: a harvester may ask there, once for
    every request)."""
    word_lists = [_WORD.findall(text.casefold()) for text in texts]
    prints = batch_fingerprints(texts, word_lists)
    for text, words, system, fingerprint in zip(texts, word_lists, instructions or [""] * len(texts), prints):
        fingerprint["prompt_topics"], fingerprint["prompt_nouns"] = prompt_nouns(words)
        fingerprint["reasoning_cue"] = asks_for_reasoning(text) or asks_for_reasoning(system)
    return prints


# Continuations. A harvester that asks for a few tokens at a time (each answer too short to count
# as reading whole answers) sends back what it got and asks for more: the next prompt ends with the
# answer before it. An answer cut at max_tokens leaves a hash of its last characters; a prompt
# (or a chat's last assistant message) carries hashes of its own last characters at the same
# lengths, and the detector, which sees both events of a client, matches them. No text is kept.
# A chat's hashes are tied to the user message the answer followed: a few-shot scorer's example
# answers ("Positive") end like its own one-token answers, but follow other messages.
TAIL_LENGTHS = (8, 16)  # characters; an answer's tail is the longest of these it has (4 would meet chance endings)


def _tail_hash(tail: str, context: str) -> int:
    return zlib.crc32(f"{len(tail)}:{tail}\0{normalise(context)}".encode())


def answer_tail(text: str, context: str = "") -> int | None:
    """The hash a continuation of this answer (to `context`, a chat's last user message) would
    repeat, or None when it is under 8 characters."""
    text = text.rstrip()
    fits = [n for n in TAIL_LENGTHS if n <= len(text)]
    return _tail_hash(text[-fits[-1]:], context) if fits else None


def prompt_tails(text: str, contexts: tuple[str, ...] = ("",)) -> list[int]:
    """Hashes of the text's last characters at each of TAIL_LENGTHS, under each context: one of them
    is `answer_tail` of an answer this text ends with."""
    text = text.rstrip()
    return [_tail_hash(text[-n:], context) for context in contexts for n in TAIL_LENGTHS if n <= len(text)]
