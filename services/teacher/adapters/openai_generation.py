"""Generations from any OpenAI-compatible chat completions API (ours, vLLM, a hosted model): the
answer and, at every position, the token's logprob and its `top_logprobs` alternatives, which is
what a generative student is distilled from (shared.events.Completion).

Each prompt is the user's message, after the job's `instructions` as a system message if it has
any. A token's bytes come from the API's `bytes` field where it gives one (OpenAI and vLLM do), so a
token that is part of a character survives; otherwise from its text."""

from __future__ import annotations

from services.teacher.adapters import Answer, TeacherAdapter, TeacherError, text_tokens
from services.teacher.adapters._openai_http import OpenAIHttp
from shared.events import Completion

MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators a chat template adds per message


def token_hex(entry: dict) -> str:
    raw = entry.get("bytes")
    if isinstance(raw, list):
        return bytes(raw).hex()
    return str(entry["token"]).encode("utf-8").hex()


def completion_of(choice: dict) -> Completion:
    """A chat completion's choice as a Completion; KeyError/TypeError/ValueError when malformed."""
    text = choice["message"].get("content") or ""
    positions = (choice.get("logprobs") or {}).get("content") or []
    return Completion(
        text=text, finish_reason=str(choice.get("finish_reason") or ""),
        tokens=[token_hex(p) for p in positions], logprobs=[float(p["logprob"]) for p in positions],
        top_tokens=[[token_hex(t) for t in p.get("top_logprobs") or []] for p in positions],
        top_logprobs=[[float(t["logprob"]) for t in p.get("top_logprobs") or []] for p in positions])


class Adapter(TeacherAdapter):
    texts_per_request = 1

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.http = OpenAIHttp(self.spec.url, self.api_key, self.spec.timeout_s, self.spec.limits.max_concurrency)

    def cache_identity(self) -> dict:
        return {**super().cache_identity(), "instructions": self.spec.instructions,
                "temperature": self.spec.temperature, "max_tokens": self.spec.max_tokens,
                "top_logprobs": self.spec.top_logprobs}

    def messages(self, text: str) -> list[dict]:
        system = [{"role": "system", "content": self.spec.instructions}] if self.spec.instructions else []
        return [*system, {"role": "user", "content": text}]

    def input_tokens(self, texts: list[str]) -> tuple[int, int]:
        parts = [t for text in texts for t in (self.spec.instructions, text) if t]
        return text_tokens(parts, MESSAGE_OVERHEAD_TOKENS)

    def max_output_tokens(self, texts: list[str]) -> int:
        return self.spec.max_tokens * len(texts)

    async def request(self, texts: list[str]) -> list[Answer]:
        (text,) = texts
        body: dict = {"model": self.spec.model, "messages": self.messages(text), "temperature": self.spec.temperature,
                      "max_tokens": self.spec.max_tokens, "logprobs": True}
        if self.spec.top_logprobs:
            body["top_logprobs"] = self.spec.top_logprobs
        data = await self.http.post("chat/completions", body)
        try:
            choice = data["choices"][0]
            completion = completion_of(choice)
            usage = data.get("usage") or {}
            answer = Answer(input_tokens=int(usage.get("prompt_tokens", 0)),
                            output_tokens=int(usage.get("completion_tokens", 0)),
                            model_version=str(data.get("model", "")))
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise TeacherError(f"malformed completion: {type(exc).__name__}: {exc}", retryable=True) from None
        if completion.text and not completion.tokens:
            # Asked for logprobs and got none: a student cannot learn positions from this teacher.
            raise TeacherError("the teacher answered without logprobs; it must support `logprobs: true` "
                               "(OpenAI-compatible chat completions)")
        answer.completion = completion.model_dump()
        return [answer]

    async def close(self) -> None:
        await self.http.close()
