"""Text fingerprints that let the detector compare queries without keeping their text:
SHA-256 of the normalised text (exact repeats) and a 64-bit SimHash of its word shingles (near
duplicates and templates: texts that differ in a few words differ in a few bits)."""

from __future__ import annotations

import hashlib
import re

_WORD = re.compile(r"\w+", re.UNICODE)


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def text_sha256(text: str) -> str:
    return hashlib.sha256(normalise(text).encode("utf-8")).hexdigest()


def simhash64(text: str) -> int:
    words = _WORD.findall(text.casefold())
    features = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
    if not features:
        return 0
    weights = [0] * 64
    for feature in features:
        h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
        for bit in range(64):
            weights[bit] += 1 if (h >> bit) & 1 else -1
    return sum(1 << bit for bit in range(64) if weights[bit] > 0)


def simhash_hex(text: str) -> str:
    return f"{simhash64(text):016x}"


def hamming(a: int | str, b: int | str) -> int:
    a = int(a, 16) if isinstance(a, str) else a
    b = int(b, 16) if isinstance(b, str) else b
    return (a ^ b).bit_count()
