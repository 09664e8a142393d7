"""Labels from any OpenAI-compatible chat completions API (OpenAI, vLLM, Ollama, llama.cpp server).

The model is shown the job's classes, numbered, and asked for the number of the right one. The
numbers are single tokens for every common tokenizer, so `top_logprobs` of the first answer token
give a probability for each class: soft labels. Mass the top list leaves out is spread evenly over
the classes it does not name. Without logprobs the answer is a hard label."""

from __future__ import annotations

import math
import re

from services.teacher.adapters import Answer, TeacherAdapter, TeacherError, text_tokens
from services.teacher.adapters._openai_http import OpenAIHttp

MESSAGE_OVERHEAD_TOKENS = 8  # role markers and separators a chat template adds per message


def default_instructions(classes: list[str]) -> str:
    listing = "\n".join(f"{i}. {name}" for i, name in enumerate(classes, 1))
    return ("Classify the user's text into exactly one of these classes:\n"
            f"{listing}\nAnswer with the number of the class only.")


def class_index(token: str, classes: list[str]) -> int | None:
    """The class a token or answer names: its number, or its name written out."""
    cleaned = token.strip().strip(".):").lower()
    if re.fullmatch(r"\d{1,4}", cleaned):
        index = int(cleaned) - 1
        return index if 0 <= index < len(classes) else None
    for i, name in enumerate(classes):
        if cleaned == name.lower():
            return i
    return None


def soft_labels(top_logprobs: list[dict], classes: list[str]) -> list[float] | None:
    probabilities = [0.0] * len(classes)
    for entry in top_logprobs:
        index = class_index(str(entry.get("token", "")), classes)
        if index is not None:
            probabilities[index] += math.exp(float(entry["logprob"]))
    named = sum(probabilities)
    if named <= 0:
        return None
    named = min(named, 1.0)
    unnamed = [i for i, p in enumerate(probabilities) if p == 0.0]
    if unnamed:
        rest = (1.0 - named) / len(unnamed)
        for i in unnamed:
            probabilities[i] = rest
    total = sum(probabilities)
    return [round(p / total, 7) for p in probabilities]


class Adapter(TeacherAdapter):
    texts_per_request = 1

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not self.classes:
            raise ValueError("an openai-chat teacher needs `classes` in the job")
        self.instructions = self.spec.instructions or default_instructions(self.classes)
        self.http = OpenAIHttp(self.spec.url, self.api_key, self.spec.timeout_s, self.spec.limits.max_concurrency)

    def cache_identity(self) -> dict:
        return {**super().cache_identity(), "instructions": self.instructions, "classes": self.classes,
                "temperature": self.spec.temperature, "top_logprobs": self.spec.top_logprobs}

    def input_tokens(self, texts: list[str]) -> tuple[int, int]:
        expected, upper = text_tokens(texts, 2 * MESSAGE_OVERHEAD_TOKENS)
        instructions = text_tokens([self.instructions] * len(texts))
        return expected + instructions[0], upper + instructions[1]

    def max_output_tokens(self, texts: list[str]) -> int:
        return self.spec.max_tokens * len(texts)

    async def request(self, texts: list[str]) -> list[Answer]:
        (text,) = texts
        body = {"model": self.spec.model, "temperature": self.spec.temperature, "max_tokens": self.spec.max_tokens,
                "messages": [{"role": "system", "content": self.instructions}, {"role": "user", "content": text}]}
        if self.spec.top_logprobs:
            body.update(logprobs=True, top_logprobs=self.spec.top_logprobs)
        data = await self.http.post("chat/completions", body)
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
            top = ((choice.get("logprobs") or {}).get("content") or [{}])[0].get("top_logprobs") or []
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise TeacherError(f"malformed completion: missing {exc}", retryable=True) from None
        answer = Answer(input_tokens=int(usage.get("prompt_tokens", 0)),
                        output_tokens=int(usage.get("completion_tokens", 0)), model_version=str(data.get("model", "")))
        probabilities = soft_labels(top, self.classes) if top else None
        if probabilities is None:
            index = class_index(content, self.classes)
            if index is None:
                answer.error = f"the teacher's answer {content[:80]!r} names none of the {len(self.classes)} classes"
                return [answer]
            probabilities = [1.0 if i == index else 0.0 for i in range(len(self.classes))]
        answer.probabilities = probabilities
        return [answer]

    async def close(self) -> None:
        await self.http.close()
