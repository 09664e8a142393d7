"""Generation from a causal language model exported with its KV cache (services/trainer/causal_lm.py):
the model folder, its chat template and tokenizer, sampling with per-token logprobs, and an engine
that batches every sequence in flight into one onnxruntime run per step (continuous batching).

Serving imports this, so it never imports torch or transformers: tokens through `tokenizers`, the
chat template through jinja2, sampling in numpy.

Continuous batching, the way it is done here: the sequences in flight share one KV cache, left
padded, so every row's newest token sits in the last column and one graph serves every row.
Sequences join between steps (each prompt run alone, only past the longest prefix
another prompt already ran when the engine keeps a prefix cache, then the caches padded to the
batch's length) and leave at once when they finish or their client goes away; the padding columns
no row needs any more are cut off. Copies happen when rows join or leave, not at every step."""

from __future__ import annotations

import itertools
import json
import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import jinja2
import jinja2.sandbox
import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from shared.textmodel import choose_providers, cpu_limit
from shared.tokens import token_bytes_table

log = logging.getLogger(__name__)

MAX_TOP_LOGPROBS = 20


class GenerationError(ValueError):
    """A request the model cannot take as asked (a person can fix it: the message says how)."""


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int = 256
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    logprobs: bool = False
    top_logprobs: int = 0
    ignore_eos: bool = False


@dataclass
class TokenLogprob:
    token_id: int
    logprob: float
    top: list[tuple[int, float]]  # (token id, logprob), best first


@dataclass
class Step:
    """What a sequence produced at one step: new text that is safe to show (stop strings held back
    until they cannot match), and the token with its logprobs when asked."""
    text: str
    token: TokenLogprob | None
    finish_reason: str | None = None  # "stop" or "length" on the last step
    prompt_tokens: int = 0
    completion_tokens: int = 0


# ---- the model folder -----------------------------------------------------------------------------

class ChatFormat:
    """A generative model folder's text side: tokenizer.json and model.json (architecture, chat
    template, special tokens, generation defaults), without the graph. A trainer writes prompts
    with it exactly as the served model will see them."""

    def __init__(self, model_dir: Path) -> None:
        self.model_dir = Path(model_dir)
        self.meta = json.loads((self.model_dir / "model.json").read_text())
        arch = self.meta["architecture"]
        self.num_layers: int = arch["num_layers"]
        self.num_kv_heads: int = arch["num_kv_heads"]
        self.head_dim: int = arch["head_dim"]
        self.vocab_size: int = arch["vocab_size"]
        self.context_length: int = int(self.meta["context_length"])
        self.eos_token_ids: frozenset[int] = frozenset(self.meta["eos_token_ids"])
        self.pad_token_id: int = int(self.meta.get("pad_token_id", min(self.eos_token_ids)))
        self.defaults: dict = self.meta.get("generation", {})
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise_template_error
        self.chat_template = env.from_string(self.meta["chat_template"]) if self.meta.get("chat_template") else None

    def render_chat(self, messages: list[dict]) -> str:
        if self.chat_template is None:
            raise GenerationError("this model has no chat template: use /v1/completions with a prompt")
        return self.chat_template.render(messages=messages, add_generation_prompt=True,
                                         bos_token=self.meta.get("bos_token", ""), eos_token=self.meta.get("eos_token", ""))

    def encode(self, text: str) -> list[int]:
        # The chat template writes the special tokens itself.
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    @cached_property
    def token_bytes(self) -> list[bytes]:
        """Each token id's own bytes (token_bytes_table)."""
        return token_bytes_table(self.tokenizer)

    @lru_cache(maxsize=65536)  # noqa: B019 (one per model, lives as long as it)
    def token_text(self, token_id: int) -> str:
        """A token as the API shows it alone (special tokens by name)."""
        return self.tokenizer.decode([token_id], skip_special_tokens=False)


class LanguageModel(ChatFormat):
    """A generative model folder served: its text side (ChatFormat) and model.onnx, one cached step."""

    def __init__(self, model_dir: Path, device: str = "auto", threads: int | None = None) -> None:
        super().__init__(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_limit()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.model_dir / "model.onnx"), options,
                                            providers=choose_providers(device))
        self.providers: list[str] = self.session.get_providers()
        self.past_names = [f"past_{kind}_{i}" for i in range(self.num_layers) for kind in ("key", "value")]
        self.output_names = [o.name for o in self.session.get_outputs()]

    def sampling(self, prompt_tokens: int, max_tokens: int | None = None, temperature: float | None = None,
                 top_p: float | None = None, **rest) -> SamplingParams:
        """A request's sampling, with this model's generation defaults for what it leaves out;
        max_tokens by default: the model's, as far as the context allows."""
        if max_tokens is None:
            max_tokens = max(1, min(int(self.defaults.get("max_tokens", 256)), self.context_length - prompt_tokens))
        return SamplingParams(
            max_tokens=max_tokens,
            temperature=float(self.defaults.get("temperature", 1.0)) if temperature is None else temperature,
            top_p=float(self.defaults.get("top_p", 1.0)) if top_p is None else top_p, **rest)

    # -- the graph -------------------------------------------------------------------------------
    def empty_cache(self, batch: int) -> list[np.ndarray]:
        shape = (batch, self.num_kv_heads, 0, self.head_dim)
        return [np.zeros(shape, dtype=np.float32) for _ in self.past_names]

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray, position_ids: np.ndarray,
            past: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
        feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "position_ids": position_ids}
        feeds.update(zip(self.past_names, past, strict=True))
        outputs = self.session.run(self.output_names, feeds)
        return outputs[0], outputs[1:]

    def prefill(self, prompts: list[list[int]]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """Run prompts together, left padded: last-position logits, the attention mask, the cache."""
        if not prompts:
            raise ValueError("no prompts to run")
        width = max(len(p) for p in prompts)
        ids = np.full((len(prompts), width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(prompts), width), dtype=np.int64)
        for row, prompt in enumerate(prompts):
            ids[row, width - len(prompt):] = prompt
            mask[row, width - len(prompt):] = 1
        positions = np.maximum(np.cumsum(mask, axis=1) - 1, 0)
        logits, cache = self.run(ids, mask, positions, self.empty_cache(len(prompts)))
        return logits, mask, cache

    def prefill_after(self, prompt: list[int], cached: int, past: list[np.ndarray]
                      ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """`prefill([prompt])` when the cache of its first `cached` tokens is known (`past`, batch 1):
        only the rest runs, at the positions that follow."""
        if not 0 < cached < len(prompt):
            raise ValueError(f"a prefix of {cached} tokens leaves nothing of a {len(prompt)}-token prompt to run")
        ids = np.array([prompt[cached:]], dtype=np.int64)
        mask = np.ones((1, len(prompt)), dtype=np.int64)
        positions = np.arange(cached, len(prompt), dtype=np.int64)[None, :]
        logits, cache = self.run(ids, mask, positions, past)
        return logits, mask, cache

    def greedy_steps(self, prompt: list[int], max_tokens: int,
                     processor: LogitsProcessor | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Each greedy token for one prompt (at least one), with the logits it was chosen from (before
        `processor`, a watermark's, if any)."""
        logits, mask, cache = self.prefill([prompt])
        generated: list[int] = []
        for _ in range(max(1, max_tokens)):
            token = int(np.argmax(logits[0] if processor is None else processor(prompt, generated, logits[0])))
            generated.append(token)
            yield token, logits[0]
            if token in self.eos_token_ids:
                break
            logits, mask, cache = self.advance([token], mask, cache)

    def forced_top_k(self, prompts: list[list[int]], texts: list[list[int]], k: int) -> list[list[list[int]]]:
        """Teacher forcing, the texts run together: per text, at each of its positions, the k tokens
        the model ranked highest there, before it saw that position's token (the prompt and the
        text's earlier tokens as context), best first."""
        logits, mask, cache = self.prefill(prompts)
        ranked: list[list[list[int]]] = [[] for _ in texts]
        longest, k = max(map(len, texts), default=0), min(k, logits.shape[-1])
        for step in range(longest):
            top = np.argpartition(logits, -k, axis=-1)[:, -k:]
            top = np.take_along_axis(top, np.argsort(-np.take_along_axis(logits, top, axis=-1), axis=-1), axis=-1)
            for row, text in enumerate(texts):
                if step < len(text):
                    ranked[row].append(top[row].tolist())
            if step + 1 == longest:
                break
            # A text already at its end is fed padding: its later logits are never read.
            logits, mask, cache = self.advance([text[step] if step < len(text) else self.pad_token_id for text in texts],
                                               mask, cache)
        return ranked

    def advance(self, tokens: list[int], mask: np.ndarray, cache: list[np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        """One more token per row after `prefill`: its logits, the grown mask and cache."""
        mask = np.concatenate([mask, np.ones((len(tokens), 1), dtype=np.int64)], axis=1)
        positions = mask.sum(axis=1, keepdims=True).astype(np.int64) - 1
        logits, cache = self.run(np.array(tokens, dtype=np.int64)[:, None], mask, positions, cache)
        return logits, mask, cache

    def greedy(self, prompt: list[int], max_tokens: int) -> tuple[list[int], np.ndarray]:
        """Greedy tokens for one prompt, and the first step's logits (the parity check's reference)."""
        steps = list(self.greedy_steps(prompt, max_tokens))
        return [token for token, _ in steps], steps[0][1]


def _raise_template_error(message: str) -> None:
    raise GenerationError(f"chat template: {message}")


# ---- sampling -------------------------------------------------------------------------------------

LogitsProcessor = Callable[[list[int], list[int], np.ndarray], np.ndarray]
"""(prompt ids, generated ids so far, logits [vocab]) -> logits: how the service changes a
distribution before sampling (a later watermark)."""


def log_softmax(x: np.ndarray) -> np.ndarray:
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sample(logprobs: np.ndarray, params: SamplingParams, rng: np.random.Generator) -> int:
    """One token from a row of logprobs: greedy at temperature 0, else temperature then nucleus."""
    if params.temperature <= 0:
        return int(np.argmax(logprobs))
    scaled = logprobs / params.temperature
    probs = np.exp(scaled - scaled.max())
    if params.top_p < 1.0:
        order = np.argsort(-probs)
        sorted_probs = probs[order]
        cumulative = np.cumsum(sorted_probs)
        keep = int(np.searchsorted(cumulative, params.top_p * cumulative[-1])) + 1
        chosen = order[:keep]
        weights = probs[chosen]
        return int(chosen[rng.choice(len(chosen), p=weights / weights.sum())])
    return int(rng.choice(len(probs), p=probs / probs.sum()))


def top_k(logprobs: np.ndarray, k: int) -> list[tuple[int, float]]:
    if k <= 0:
        return []
    idx = np.argpartition(-logprobs, k - 1)[:k]
    idx = idx[np.argsort(-logprobs[idx])]
    return [(int(i), float(logprobs[i])) for i in idx]


# ---- sequences ------------------------------------------------------------------------------------

@dataclass(eq=False)
class Sequence:
    """One generation in flight. `emit` is called from the engine's thread with each Step."""
    prompt_ids: list[int]
    params: SamplingParams
    emit: Callable[[Step], None]
    processor: LogitsProcessor | None = None
    generated: list[int] = field(default_factory=list)
    cancelled: bool = False
    shown: int = 0  # characters of the decoded completion already emitted
    cached_tokens: int = 0  # of its prompt, the tokens whose cache came from the prefix cache
    submitted_at: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.params.seed)

    def cancel(self) -> None:
        """The client went away: the engine drops the row before its next step."""
        self.cancelled = True


class Detokenizer:
    """Turns a sequence's tokens into text to show, holding back what could still become a stop
    string or an incomplete UTF-8 character."""

    def __init__(self, model: LanguageModel) -> None:
        self.model = model

    def advance(self, seq: Sequence, finished: bool) -> tuple[str, bool]:
        """New text to show, and whether a stop string ended the sequence."""
        text = self.model.decode(seq.generated)
        for stop in seq.params.stop:
            at = text.find(stop, max(0, seq.shown - len(stop)))
            if at >= 0:
                new = text[seq.shown:at] if at > seq.shown else ""
                seq.shown = max(seq.shown, at)
                return new, True
        if finished:
            safe = len(text)
        else:
            safe = len(text) - (max((len(s) for s in seq.params.stop), default=1) - 1)
            if text.endswith("\ufffd"):  # a character split over tokens: wait for the rest
                safe = min(safe, len(text) - 1)
        if safe <= seq.shown:
            return "", False
        new = text[seq.shown:safe]
        seq.shown = safe
        return new, False


# ---- prefix caching -------------------------------------------------------------------------------

class PrefixCache:
    """The KV cache of prompts already run, kept in blocks of `block` tokens, so that a prompt which
    begins as an earlier one did (a chat template's default system prompt, an app's instructions)
    runs only its new tokens: vLLM's automatic prefix caching, without its paging.

    A block is keyed by its parent block's id and its own tokens, so a hit is exact, and a block
    whose parent left can never be reached again (a parent stored anew gets a new id). Bounded in
    bytes, least recently used out first; a prompt's blocks are touched from its last to its first,
    so a chain loses its end before its beginning (the shared system prompt stays longest)."""

    def __init__(self, max_bytes: int, block: int = 8) -> None:
        self.max_bytes, self.block = max_bytes, block
        self.bytes = 0
        # (parent id, the block's tokens) -> (this block's id, its cache: every layer's key and value)
        self._blocks: OrderedDict[tuple[int, tuple[int, ...]], tuple[int, list[np.ndarray]]] = OrderedDict()
        self._ids = itertools.count(1)  # 0: the root, parent of every first block

    def __len__(self) -> int:
        return len(self._blocks)

    def _chain(self, prompt: list[int], limit: int) -> Iterator[tuple[tuple[int, tuple[int, ...]], int]]:
        """The keys of the prompt's whole blocks ending at or before `limit`, each with its end."""
        parent = 0
        for end in range(self.block, limit + 1, self.block):
            key = (parent, tuple(prompt[end - self.block:end]))
            yield key, end
            found = self._blocks.get(key)
            if found is None:
                return
            parent = found[0]

    def match(self, prompt: list[int]) -> tuple[int, list[np.ndarray]]:
        """The longest cached prefix that leaves at least one token to run (the logits come from the
        last one): its length and its cache, batch 1; (0, []) when there is none."""
        keys = [key for key, _ in self._chain(prompt, len(prompt) - 1) if key in self._blocks]
        if not keys:
            return 0, []
        for key in reversed(keys):
            self._blocks.move_to_end(key)
        found = [self._blocks[key][1] for key in keys]
        cached = len(keys) * self.block
        return cached, found[0] if len(found) == 1 else [np.concatenate(layer, axis=2) for layer in zip(*found, strict=True)]

    def store(self, prompt: list[int], cache: list[np.ndarray]) -> None:
        """Keep the whole blocks of a prompt just run (`cache`: its KV, batch 1, without padding)."""
        keys = []
        for key, end in self._chain(prompt, len(prompt)):
            if key not in self._blocks:
                arrays = [a[:, :, end - self.block:end].copy() for a in cache]
                self._blocks[key] = (next(self._ids), arrays)
                self.bytes += sum(a.nbytes for a in arrays)
            keys.append(key)
        for key in reversed(keys):
            self._blocks.move_to_end(key)
        while self.bytes > self.max_bytes and self._blocks:
            _, (_, arrays) = self._blocks.popitem(last=False)
            self.bytes -= sum(a.nbytes for a in arrays)


# ---- the engine -----------------------------------------------------------------------------------

@dataclass
class EngineStats:
    running: int = 0
    waiting: int = 0
    steps: int = 0
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0  # of prompt_tokens, those the prefix cache spared
    generated_tokens: int = 0


class Engine:
    """Continuous batching over one LanguageModel, in a thread of its own (onnxruntime releases the
    GIL while it runs, so the event loop serving requests keeps going)."""

    def __init__(self, model: LanguageModel, max_batch: int = 16, max_waiting: int = 64,
                 on_step: Callable[[int, float], None] | None = None, max_prefill_tokens: int = 512,
                 prefix_cache_bytes: int = 0) -> None:
        self.model = model
        self.prefix_cache = PrefixCache(prefix_cache_bytes) if prefix_cache_bytes > 0 else None
        self.max_batch = max_batch
        # Prompt tokens run between two decoding steps: more starts new sequences sooner, and stalls
        # the ones already decoding longer.
        self.max_prefill_tokens = max_prefill_tokens
        self._held: Sequence | None = None  # taken from the queue, over this step's prefill budget
        self.max_waiting = max_waiting
        self.on_step = on_step  # (rows, seconds) after each decoding step: metrics
        self.detokenizer = Detokenizer(model)
        self.waiting: queue.Queue[Sequence] = queue.Queue()
        self.stats = EngineStats()
        self._rows: list[Sequence] = []
        self._mask = np.zeros((0, 0), dtype=np.int64)
        self._cache: list[np.ndarray] = model.empty_cache(0)
        self._logits = np.zeros((0, model.vocab_size), dtype=np.float32)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the caller's side -------------------------------------------------------------------
    def check(self, prompt_ids: list[int], params: SamplingParams) -> None:
        """Refuse what can never run, before anything is queued."""
        room = self.model.context_length - len(prompt_ids)
        if not prompt_ids:
            raise GenerationError("the prompt is empty")
        if room < 1:
            raise GenerationError(f"the prompt is {len(prompt_ids)} tokens; this model's context is "
                                  f"{self.model.context_length} tokens. Shorten the prompt.")
        if params.max_tokens < 1:
            raise GenerationError("max_tokens must be at least 1")
        if params.max_tokens > room:
            raise GenerationError(f"the prompt ({len(prompt_ids)} tokens) and max_tokens ({params.max_tokens}) "
                                  f"exceed this model's context of {self.model.context_length} tokens; "
                                  f"ask for at most {room} tokens")
        if not 0 <= params.top_logprobs <= MAX_TOP_LOGPROBS:
            raise GenerationError(f"top_logprobs must be between 0 and {MAX_TOP_LOGPROBS}")

    def submit(self, seq: Sequence) -> Sequence:
        self.check(seq.prompt_ids, seq.params)
        self.waiting.put(seq)
        self.stats.waiting = self.waiting.qsize()
        return seq

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"engine-{self.model.model_dir.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping.set()
        self.waiting.put(None)  # type: ignore[arg-type]  # wakes the loop
        if self._thread:
            self._thread.join(timeout_s)

    @property
    def in_flight(self) -> int:
        return len(self._rows) + self.waiting.qsize() + (self._held is not None)

    # -- the engine's thread -----------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self._admit(block=not self._rows)
                self._drop_cancelled()
                if self._rows:
                    self._step()
            except Exception:  # a bug must not leave clients waiting forever
                log.exception("generation step failed; ending the sequences in flight")
                for seq in self._rows:
                    seq.emit(Step("", None, finish_reason="error"))
                self._reset()
        for seq in self._rows:
            seq.emit(Step("", None, finish_reason="abort"))

    def _admit(self, block: bool) -> None:
        """Take waiting sequences, up to the batch's room and the prefill budget (at least one), and
        run their prompts: each alone, so no prompt is padded to another's length (padding is wasted
        work, and prompts vary tenfold in length), then join them to the batch in one copy."""
        new: list[Sequence] = []
        budget = self.max_prefill_tokens
        while len(self._rows) + len(new) < self.max_batch:
            if self._held is not None:
                seq, self._held = self._held, None
            else:
                try:
                    seq = self.waiting.get(block=block and not new, timeout=0.5 if block and not new else None)
                except queue.Empty:
                    break
            if seq is None:
                break
            if seq.cancelled:
                continue
            if new and len(seq.prompt_ids) > budget:
                self._held = seq  # first in the next step
                break
            new.append(seq)
            budget -= len(seq.prompt_ids)
        self.stats.waiting = self.waiting.qsize() + (self._held is not None)
        if not new:
            return
        try:
            parts = [self._prefill(s) for s in new]
        except Exception:  # they are in no row yet: the loop's handler would not tell their clients
            for seq in new:
                seq.emit(Step("", None, finish_reason="error"))
            raise
        self.stats.prompt_tokens += sum(len(s.prompt_ids) for s in new)
        self._join(new, parts)

    def _prefill(self, seq: Sequence) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        if self.prefix_cache is None:
            return self.model.prefill([seq.prompt_ids])
        cached, past = self.prefix_cache.match(seq.prompt_ids)
        logits, mask, cache = (self.model.prefill_after(seq.prompt_ids, cached, past) if cached
                               else self.model.prefill([seq.prompt_ids]))
        self.prefix_cache.store(seq.prompt_ids, cache)
        seq.cached_tokens = cached
        self.stats.cached_prompt_tokens += cached
        return logits, mask, cache

    def _join(self, new: list[Sequence], parts: list[tuple[np.ndarray, np.ndarray, list[np.ndarray]]]) -> None:
        """Left-pad every cache to the longest and stack them: the rows in flight, then the new ones."""
        blocks = ([(self._logits, self._mask, self._cache)] if self._rows else []) + parts
        width = max(mask.shape[1] for _, mask, _ in blocks)

        def pad(a: np.ndarray, axis: int) -> np.ndarray:
            missing = width - a.shape[axis]
            if missing == 0:
                return a
            spec = [(0, 0)] * a.ndim
            spec[axis] = (missing, 0)
            return np.pad(a, spec)

        self._mask = np.concatenate([pad(mask, 1) for _, mask, _ in blocks])
        self._cache = [np.concatenate([pad(cache[layer], 2) for _, _, cache in blocks])
                       for layer in range(len(self.model.past_names))]
        self._logits = np.concatenate([logits for logits, _, _ in blocks])
        self._rows += new
        self.stats.running = len(self._rows)

    def _drop_cancelled(self) -> None:
        keep = [i for i, s in enumerate(self._rows) if not s.cancelled]
        if len(keep) != len(self._rows):
            self._keep(keep)

    def _keep(self, keep: list[int]) -> None:
        if not keep:
            self._reset()
            return
        self._rows = [self._rows[i] for i in keep]
        mask = self._mask[keep]
        # Columns that are padding in every remaining row are needed by none of them.
        first = int(np.argmax(mask.any(axis=0)))
        self._mask = np.ascontiguousarray(mask[:, first:])
        self._cache = [np.ascontiguousarray(c[keep][:, :, first:]) for c in self._cache]
        self._logits = self._logits[keep]
        self.stats.running = len(self._rows)

    def _reset(self) -> None:
        self._rows = []
        self._mask = np.zeros((0, 0), dtype=np.int64)
        self._cache = self.model.empty_cache(0)
        self._logits = np.zeros((0, self.model.vocab_size), dtype=np.float32)
        self.stats.running = 0

    def _step(self) -> None:
        """Choose every row's next token from its logits, tell its client, then run the model once."""
        started = time.perf_counter()
        tokens = np.zeros((len(self._rows), 1), dtype=np.int64)
        finished: list[int] = []
        for row, seq in enumerate(self._rows):
            logits = self._logits[row]
            if seq.processor is not None:
                logits = seq.processor(seq.prompt_ids, seq.generated, logits)
            # Greedy without logprobs needs the best logit alone: a log-softmax over the whole vocabulary
            # costs a small model's step on CPU about as much as one of its layers.
            greedy = seq.params.temperature <= 0 and not seq.params.logprobs
            logprobs = None if greedy else log_softmax(logits.astype(np.float64))
            token = int(np.argmax(logits)) if logprobs is None else sample(logprobs, seq.params, seq.rng)
            seq.generated.append(token)
            if seq.first_token_at is None:
                seq.first_token_at = time.perf_counter()
            is_eos = token in self.model.eos_token_ids and not seq.params.ignore_eos
            if is_eos:
                seq.generated.pop()  # the end token is not part of the text, nor counted twice
            out_of_room = len(seq.generated) >= seq.params.max_tokens or \
                len(seq.prompt_ids) + len(seq.generated) >= self.model.context_length
            text, stopped = self.detokenizer.advance(seq, finished=is_eos or out_of_room)
            reason = "stop" if is_eos or stopped else "length" if out_of_room else None
            token_info = TokenLogprob(token, float(logprobs[token]), top_k(logprobs, seq.params.top_logprobs)) \
                if seq.params.logprobs and logprobs is not None and not is_eos else None
            completion = len(seq.generated) + (1 if is_eos else 0)
            seq.emit(Step(text, token_info, reason, len(seq.prompt_ids), completion))
            if reason is not None:
                finished.append(row)
            tokens[row, 0] = token
        self.stats.generated_tokens += len(self._rows)
        if finished:
            done = set(finished)
            keep = [i for i in range(len(self._rows)) if i not in done]
            tokens = tokens[keep]
            self._keep(keep)
            if not self._rows:
                return
        self._mask = np.concatenate([self._mask, np.ones((len(self._rows), 1), dtype=np.int64)], axis=1)
        positions = (self._mask.sum(axis=1, keepdims=True) - 1).astype(np.int64)
        self._logits, self._cache = self.model.run(tokens, self._mask, positions, self._cache)
        self.stats.steps += 1
        if self.on_step:
            self.on_step(len(self._rows), time.perf_counter() - started)

