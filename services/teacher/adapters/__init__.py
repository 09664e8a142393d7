"""Teacher adapters: one module per teacher kind, each with an `Adapter` class. A job's
`teacher.kind` names the module (`openai-chat` -> openai_chat.py), so adding a kind of teacher is
adding one module here. Modules whose names start with `_` are helpers, not kinds."""

from __future__ import annotations

import importlib
import math
import pkgutil
from abc import ABC, abstractmethod
from dataclasses import dataclass

from shared.events import TeacherSpec
from shared.store import ArtifactStore


@dataclass
class Answer:
    """The teacher's answer to one text: class probabilities, an embedding, a generation
    (shared.events.Completion's fields, as plain JSON for the cache), or why not."""

    probabilities: list[float] | None = None
    embedding: list[float] | None = None
    completion: dict | None = None
    error: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    model_version: str = ""


class TeacherError(Exception):
    """A request that failed as a whole. `retryable`: a timeout, a 5xx, a broken or malformed body;
    `retry_after_s`: the teacher asked to slow down (429), and said for how long if it did."""

    def __init__(self, message: str, retryable: bool = False, rate_limited: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable or rate_limited
        self.rate_limited = rate_limited
        self.retry_after_s = retry_after_s


class TeacherAdapter(ABC):
    texts_per_request: int = 1

    def __init__(self, spec: TeacherSpec, api_key: str, store: ArtifactStore | None) -> None:
        # store: None for teachers that read nothing from it (every kind but onnx).
        self.spec = spec
        self.api_key = api_key
        self.store = store
        self.classes: list[str] = list(spec.classes)

    async def open(self) -> None:  # noqa: B027 - an optional hook: adapters with nothing to connect keep it
        """Connect, and learn what the teacher answers with (its classes)."""

    @abstractmethod
    async def request(self, texts: list[str]) -> list[Answer]:
        """One request to the teacher for `texts` (at most `texts_per_request`); raises TeacherError."""

    def cache_identity(self) -> dict:
        """Everything besides the text that changes the answer: part of the response-cache key. That
        includes the account, named by the variable its key is in (not the key: a rotated key keeps the
        cache): a provider may answer accounts differently, as ours watermarks all but allow-listed
        ones. The default variable adds nothing, so that caches made before it counted still hit."""
        default = type(self.spec).model_fields["api_key_env"].default
        account = {} if self.spec.api_key_env == default else {"account": self.spec.api_key_env}
        return {"kind": self.spec.kind, "url": self.spec.url, "model": self.spec.model, "version": self.spec.version,
                **account}

    def input_tokens(self, texts: list[str]) -> tuple[int, int]:
        """(expected, most possible) input tokens of one request: the first paces the tokens-per-minute
        limit, the second keeps a token budget from ever being overrun. Teachers that do not bill by
        token count none."""
        return 0, 0

    def max_output_tokens(self, texts: list[str]) -> int:
        return 0

    async def close(self) -> None:  # noqa: B027 - an optional hook: adapters with nothing to release keep it
        pass


def text_tokens(texts: list[str], overhead: int = 0) -> tuple[int, int]:
    """BPE tokenisers average about four bytes a token on English and never make a token of less
    than one byte: the expected count and an upper bound, without the vendor's tokeniser."""
    size = sum(len(t.encode("utf-8")) for t in texts)
    return math.ceil(size / 4) + overhead * len(texts), size + overhead * len(texts)


def available_kinds() -> list[str]:
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def load_adapter(spec: TeacherSpec, api_key: str, store: ArtifactStore | None) -> TeacherAdapter:
    if spec.kind not in available_kinds():
        raise ValueError(f"unknown teacher kind {spec.kind!r}; known kinds: {', '.join(available_kinds())}")
    module = importlib.import_module(f"{__name__}.{spec.kind.replace('-', '_')}")
    return module.Adapter(spec, api_key, store)
