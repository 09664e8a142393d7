"""Vectors from any OpenAI-compatible embeddings endpoint, a batch of texts per request."""

from __future__ import annotations

from services.teacher.adapters import Answer, TeacherAdapter, TeacherError, text_tokens
from services.teacher.adapters._openai_http import OpenAIHttp


class Adapter(TeacherAdapter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.texts_per_request = self.spec.batch_size
        self.http = OpenAIHttp(self.spec.url, self.api_key, self.spec.timeout_s, self.spec.limits.max_concurrency)

    def input_tokens(self, texts: list[str]) -> tuple[int, int]:
        return text_tokens(texts)

    async def request(self, texts: list[str]) -> list[Answer]:
        data = await self.http.post("embeddings", {"model": self.spec.model, "input": texts})
        try:
            rows = sorted(data["data"], key=lambda row: row["index"])
            vectors = [[float(v) for v in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError) as exc:
            raise TeacherError(f"malformed embeddings: {type(exc).__name__} {exc}", retryable=True) from None
        if len(vectors) != len(texts):
            raise TeacherError(f"malformed embeddings: {len(vectors)} vectors for {len(texts)} texts", retryable=True)
        # Usage comes for the whole request; each text is charged its share by length.
        total = int((data.get("usage") or {}).get("prompt_tokens", 0))
        sizes = [max(1, len(t.encode("utf-8"))) for t in texts]
        shares = [total * s // sum(sizes) for s in sizes]
        shares[-1] += total - sum(shares)
        return [Answer(embedding=v, input_tokens=n, model_version=str(data.get("model", ""))) for v, n in zip(vectors, shares)]

    async def close(self) -> None:
        await self.http.close()
