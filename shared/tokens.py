"""Tokens as bytes: what the OpenAI API's `bytes` field carries for each token, and how a token an
API names (which may be part of a character) maps back to an id in a tokenizer of the same family.
Light on purpose: the curator uses it without the serving stack."""

from __future__ import annotations

from functools import lru_cache

from tokenizers import Tokenizer


@lru_cache(maxsize=1)
def byte_level_alphabet() -> dict[str, int]:
    """GPT-2-style byte-level BPE writes every byte as a printable character in its vocabulary
    (the printable Latin-1 ones as themselves, the rest from U+0100 on): that character -> the byte."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("\u00a1"), ord("\u00ac") + 1),
                 *range(ord("\u00ae"), ord("\u00ff") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{chr(b): b for b in printable}, **{chr(256 + i): b for i, b in enumerate(others)}}


def token_bytes_table(tokenizer: Tokenizer) -> list[bytes]:
    """Each token id's own bytes: what the OpenAI API's `bytes` field carries, and how a token
    named by an API (which may be part of a character) maps back to an id. Special tokens, and
    tokenizers that are not byte-level, give their text."""
    alphabet = byte_level_alphabet()
    special = tokenizer.get_added_tokens_decoder()
    table = []
    for token_id in range(tokenizer.get_vocab_size(with_added_tokens=True)):
        piece = tokenizer.id_to_token(token_id) or ""
        if token_id in special or not all(c in alphabet for c in piece):
            table.append(tokenizer.decode([token_id], skip_special_tokens=False).encode())
        else:
            table.append(bytes(alphabet[c] for c in piece))
    return table


def vocabulary_by_bytes(tokenizer: Tokenizer) -> dict[bytes, int]:
    """Token bytes -> id (the first id, where two tokens have the same bytes)."""
    vocabulary: dict[bytes, int] = {}
    for token_id, raw in enumerate(token_bytes_table(tokenizer)):
        vocabulary.setdefault(raw, token_id)
    return vocabulary
