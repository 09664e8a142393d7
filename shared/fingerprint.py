"""Text fingerprints that let the detector compare queries without keeping their text:
SHA-256 of the normalised text (exact repeats) and a 64-bit SimHash of its word shingles (near
duplicates and templates: texts that differ in a few words differ in a few bits)."""

from __future__ import annotations

import hashlib
import re

import numpy as np

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
    digests = b"".join(hashlib.blake2b(f.encode("utf-8"), digest_size=8).digest() for f in features)
    # Bit k of each little-endian 64-bit hash votes +1 or -1; vectorised, as this runs for every
    # text the inference service answers.
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8), bitorder="little").reshape(len(features), 64)
    majority = (2 * bits.sum(axis=0, dtype=np.int64) - len(features)) > 0
    return int.from_bytes(np.packbits(majority, bitorder="little").tobytes(), "little")


def simhash_hex(text: str) -> str:
    return f"{simhash64(text):016x}"


def hamming(a: int | str, b: int | str) -> int:
    a = int(a, 16) if isinstance(a, str) else a
    b = int(b, 16) if isinstance(b, str) else b
    return (a ^ b).bit_count()
