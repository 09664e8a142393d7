"""A Llama-architecture decoder (SmolLM2's) written out in plain torch, with its KV cache as explicit
tensors in and out, so that one module serves three ends: the teacher's ONNX export, the student's
training (fewer layers, same tokenizer) and the student's export through the same path.

The ONNX graph it exports is what `shared.generation` runs: inputs `input_ids` [B, S],
`attention_mask` [B, P+S] (0 on left padding), `position_ids` [B, S] and `past_key_{i}` /
`past_value_{i}` [B, kv_heads, P, head_dim]; outputs the last position's `logits` [B, vocab] and
`present_key_{i}` / `present_value_{i}` [B, kv_heads, P+S, head_dim]. Left padding keeps every row's
last token in the last column, so one graph serves batched prefill and batched decoding."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn


@dataclass(frozen=True)
class DecoderConfig:
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float
    max_positions: int
    # 0: the head is the tied embedding over the whole vocabulary. Otherwise a head of its own over
    # this many of the vocabulary's tokens (a student's domain); every other token's logit is
    # OUTSIDE_HEAD, so the served model never emits it.
    head_size: int = 0

    @classmethod
    def from_hf(cls, config) -> DecoderConfig:
        rope = getattr(config, "rope_parameters", None) or {}
        theta = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))
        return cls(vocab_size=config.vocab_size, hidden_size=config.hidden_size,
                   intermediate_size=config.intermediate_size, num_layers=config.num_hidden_layers,
                   num_heads=config.num_attention_heads, num_kv_heads=config.num_key_value_heads,
                   head_dim=getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads,
                   rms_norm_eps=float(config.rms_norm_eps), rope_theta=float(theta),
                   max_positions=config.max_position_embeddings)

    def to_dict(self) -> dict:
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class DecoderLayer(nn.Module):
    def __init__(self, c: DecoderConfig) -> None:
        super().__init__()
        self.c = c
        self.q_proj = nn.Linear(c.hidden_size, c.num_heads * c.head_dim, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, c.num_kv_heads * c.head_dim, bias=False)
        self.o_proj = nn.Linear(c.num_heads * c.head_dim, c.hidden_size, bias=False)
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.input_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.rms_norm_eps)

    def forward(self, x, cos, sin, bias, past_key, past_value):
        c = self.c
        b, s, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, s, c.num_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, s, c.num_kv_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, s, c.num_kv_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        key = torch.cat([past_key, k], dim=2)
        value = torch.cat([past_value, v], dim=2)
        groups = c.num_heads // c.num_kv_heads
        # Grouped-query attention: each key/value head serves `groups` query heads.
        qg = q.reshape(b, c.num_kv_heads, groups * s, c.head_dim)
        scores = torch.matmul(qg, key.transpose(2, 3)).view(b, c.num_kv_heads, groups, s, -1)
        scores = scores / math.sqrt(c.head_dim) + bias.unsqueeze(1)
        probs = torch.softmax(scores, dim=-1).view(b, c.num_kv_heads, groups * s, -1)
        attended = torch.matmul(probs, value).view(b, c.num_heads, s, c.head_dim)
        x = x + self.o_proj(attended.transpose(1, 2).reshape(b, s, c.num_heads * c.head_dim))
        h = self.post_attention_layernorm(x)
        x = x + self.down_proj(nn.functional.silu(self.gate_proj(h)) * self.up_proj(h))
        return x, key, value


OUTSIDE_HEAD = -1e9  # the logit of a token a restricted head does not cover: probability 0, yet finite


class CausalLM(nn.Module):
    """The decoder, its embedding tied to its output head (as in SmolLM2), or, with
    `config.head_size`, a head of its own over a subset of the vocabulary (`head_ids`)."""

    head: nn.Linear
    head_ids: torch.Tensor

    def __init__(self, c: DecoderConfig) -> None:
        super().__init__()
        self.config = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.hidden_size)
        if c.head_size:
            self.head = nn.Linear(c.hidden_size, c.head_size, bias=False)
            self.register_buffer("head_ids", torch.zeros(c.head_size, dtype=torch.long))
        self.layers = nn.ModuleList(DecoderLayer(c) for _ in range(c.num_layers))
        self.norm = RMSNorm(c.hidden_size, c.rms_norm_eps)
        inv_freq = 1.0 / (c.rope_theta ** (torch.arange(0, c.head_dim, 2, dtype=torch.float32) / c.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def hidden(self, input_ids, attention_mask, position_ids, past: list[torch.Tensor]):
        """Final hidden states [B, S, H] and the new cache (key, value per layer, flattened)."""
        x = self.embed_tokens(input_ids)
        freqs = position_ids.unsqueeze(-1).to(torch.float32) * self.inv_freq
        angles = torch.cat([freqs, freqs], dim=-1).unsqueeze(1)  # [B, 1, S, D]
        cos, sin = torch.cos(angles), torch.sin(angles)
        s = input_ids.shape[1]
        total = attention_mask.shape[1]
        # Query i (absolute column total - s + i) sees key columns <= its own that are not padding.
        query_col = torch.arange(s, device=input_ids.device).unsqueeze(1) + (total - s)
        key_col = torch.arange(total, device=input_ids.device).unsqueeze(0)
        allowed = (key_col <= query_col).unsqueeze(0) & (attention_mask.unsqueeze(1) > 0)
        bias = torch.where(allowed, 0.0, torch.finfo(torch.float32).min).unsqueeze(1)  # [B, 1, S, T]
        present: list[torch.Tensor] = []
        for i, layer in enumerate(self.layers):
            x, key, value = layer(x, cos, sin, bias, past[2 * i], past[2 * i + 1])
            present += [key, value]
        return self.norm(x), present

    def head_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over the head's own tokens (the whole vocabulary unless the head is restricted):
        what training scores, without spreading them over the vocabulary."""
        if self.config.head_size:
            return self.head(hidden)
        # linear() exports as Gemm(transB) on the embedding's own weights: one copy in the file.
        return nn.functional.linear(hidden, self.embed_tokens.weight)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Logits over the whole vocabulary [..., V]: a restricted head's are scattered into place."""
        small = self.head_logits(hidden)
        if not self.config.head_size:
            return small
        full = small.new_full((*small.shape[:-1], self.config.vocab_size), OUTSIDE_HEAD)
        return full.scatter(-1, self.head_ids.expand_as(small), small)

    def vocab_to_head(self) -> torch.Tensor | None:
        """Each vocabulary id's index in a restricted head, -1 where it has none; None for a full head."""
        if not self.config.head_size:
            return None
        index = torch.full((self.config.vocab_size,), -1, dtype=torch.long, device=self.head_ids.device)
        index[self.head_ids] = torch.arange(self.config.head_size, device=self.head_ids.device)
        return index

    def forward(self, input_ids, attention_mask, position_ids=None, past=None):
        """All positions' logits [B, S, V] (training and evaluation); no cache."""
        if position_ids is None:
            position_ids = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, -input_ids.shape[1]:]
        if past is None:
            past = self.empty_cache(input_ids.shape[0])
        hidden, _ = self.hidden(input_ids, attention_mask, position_ids, past)
        return self.logits(hidden)

    def empty_cache(self, batch: int) -> list[torch.Tensor]:
        c = self.config
        device = self.embed_tokens.weight.device
        return [torch.zeros(batch, c.num_kv_heads, 0, c.head_dim, device=device) for _ in range(2 * c.num_layers)]

    @classmethod
    def from_hf(cls, hf_model) -> CausalLM:
        """Copy a transformers LlamaForCausalLM's weights (names as transformers gives them)."""
        model = cls(DecoderConfig.from_hf(hf_model.config))
        state = {}
        for name, tensor in hf_model.state_dict().items():
            if name == "lm_head.weight":
                continue  # tied to the embedding
            name = name.removeprefix("model.")
            for part in ("self_attn.", "mlp."):
                name = name.replace(part, "")
            state[name] = tensor.detach().to(torch.float32)
        model.load_state_dict(state)
        return model.eval()


class CachedStep(nn.Module):
    """The export view: last position's logits and the grown cache."""

    def __init__(self, model: CausalLM) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past):
        hidden, present = self.model.hidden(input_ids, attention_mask, position_ids, list(past))
        return (self.model.logits(hidden[:, -1, :]), *present)


def export_cached_onnx(model: CausalLM, path: Path, opset: int = 17) -> None:
    """Export with dynamic batch, sequence and cache lengths (the TorchScript exporter: its graphs
    load on every onnxruntime build we serve with)."""
    c = model.config
    names = [f"past_{kind}_{i}" for i in range(c.num_layers) for kind in ("key", "value")]
    outputs = ["logits"] + [n.replace("past_", "present_") for n in names]
    batch, prompt, cached = 2, 3, 4
    ids = torch.randint(0, c.vocab_size, (batch, prompt))
    mask = torch.ones(batch, cached + prompt, dtype=torch.int64)
    positions = torch.arange(cached, cached + prompt).expand(batch, prompt).contiguous()
    past = [torch.randn(batch, c.num_kv_heads, cached, c.head_dim) for _ in names]
    axes: dict[str, dict[int, str]] = {"input_ids": {0: "batch", 1: "sequence"},
                                       "attention_mask": {0: "batch", 1: "total"},
                                       "position_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}
    axes.update({n: {0: "batch", 2: "past"} for n in names})
    axes.update({n: {0: "batch", 2: "total"} for n in outputs[1:]})
    with torch.no_grad():
        torch.onnx.export(CachedStep(model.eval()), (ids, mask, positions, *past), str(path),
                          input_names=["input_ids", "attention_mask", "position_ids", *names],
                          output_names=outputs, dynamic_axes=axes, opset_version=opset, dynamo=False)
