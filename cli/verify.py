"""`distillery verify`: was a suspect model distilled from our watermarked answers?

It replays the inputs of the watermark ledger (all clients', or one client's) to the suspect, an
ONNX model folder or a model behind any Open Inference Protocol server, and counts how often the
suspect answers the watermark class instead of our model's real one. The test and why its p-value
is exact are in shared.watermark; the report (JSON and Markdown) says it in words an operator can
hand on.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from shared.oip import (
    GENERATION_INPUT,
    GENERATION_OUTPUT,
    LABEL_OUTPUT,
    PROBABILITIES_OUTPUT,
    OipClient,
    labels_from_response,
    pb,
    probabilities_from_response,
    texts_from_response,
)
from shared.text_watermark import GAMMA, score_reading, score_texts
from shared.watermark import LedgerEntry, LedgerSummary, OwnershipTest, queries_needed

INCONCLUSIVE_P = 0.01  # below this (but not below alpha) the evidence is worth a closer look, not a claim


class VerifyError(Exception):
    pass


class OnnxSuspect:
    """A model folder as Distillery exports one: model.onnx (or another .onnx file given by path),
    tokenizer.json, and model.json naming the classes."""

    def __init__(self, path: Path) -> None:
        from shared.textmodel import TextClassifier

        path = Path(path)
        folder, model_file = (path.parent, path.name) if path.suffix == ".onnx" else (path, "model.onnx")
        missing = [name for name in (model_file, "tokenizer.json", "model.json") if not (folder / name).exists()]
        if missing:
            raise VerifyError(f"{folder} lacks {', '.join(missing)}: an ONNX suspect is a model folder with the graph, "
                              "tokenizer.json and model.json (its classes); serve any other model over the Open "
                              "Inference Protocol and pass --address and --model instead")
        self.model = TextClassifier(folder, device="cpu", model_file=model_file)
        if not self.model.classes:
            raise VerifyError(f"{folder}/model.json names no classes: only classifiers can be verified")
        self.description = {"kind": "onnx", "path": str(path.resolve()), "classes": len(self.model.classes)}

    async def labels(self, texts: list[str]) -> list[str]:
        probabilities = await asyncio.to_thread(self.model.predict_batched, texts)
        return [self.model.classes[i] for i in probabilities.argmax(axis=1)]


class OipSuspect:
    """A model behind an Open Inference Protocol (KServe V2) gRPC server: its LABEL output, or the
    top class of PROBABILITIES with the classes its metadata names."""

    def __init__(self, address: str, model: str, api_key: str = "", version: str = "", batch: int = 64) -> None:
        self.address, self.api_key = address, api_key
        self.model, self.version, self.batch = model, version, batch
        self.description = {"kind": "oip-grpc", "address": address, "model": model, "version": version or "served"}

    async def labels(self, texts: list[str]) -> list[str]:
        self.client = OipClient(self.address, self.api_key)  # a grpc.aio channel belongs to the running loop
        out: list[str] = []
        classes: list[str] | None = None
        try:
            for start in range(0, len(texts), self.batch):
                chunk = texts[start:start + self.batch]
                if classes is None:
                    try:
                        response = await self.client.infer(self.model, chunk, self.version, outputs=[LABEL_OUTPUT])
                        out += labels_from_response(response)
                        continue
                    except (grpc.aio.AioRpcError, KeyError) as exc:
                        if isinstance(exc, grpc.aio.AioRpcError) and exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                            raise
                        classes = await self.client.classes(self.model, self.version)  # no LABEL output
                response = await self.client.infer(self.model, chunk, self.version, outputs=[PROBABILITIES_OUTPUT])
                out += [classes[i] for i in probabilities_from_response(response).argmax(axis=1)]
        except grpc.aio.AioRpcError as exc:
            raise VerifyError(f"the suspect at {self.description['address']} answered {exc.code().name}: "
                              f"{exc.details()}") from None
        finally:
            await self.client.close()
        return out


@dataclass
class Verification:
    suspect: dict
    ledger: LedgerSummary
    test: OwnershipTest
    alpha: float
    queries_to_alpha: int | None
    examples: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.test.log10_p_value < math.log10(self.alpha):
            return "derived"
        return "inconclusive" if self.test.p_value < INCONCLUSIVE_P else "no evidence"

    def to_dict(self) -> dict:
        t = self.test
        return {
            "verdict": self.verdict, "p_value": t.p_value, "log10_p_value": round(t.log10_p_value, 3),
            "alpha": self.alpha, "queries": t.queries, "watermark_hits": t.hits, "disagreements": t.disagreements,
            "agreement_with_our_model": 1 - t.disagreements / t.queries if t.queries else 0.0,
            "null": {"classes": t.n_classes, "hit_probability_per_disagreement": t.null_per_disagreement,
                     "rate_per_query": t.null_rate, "expected_hits": t.disagreements * t.null_per_disagreement,
                     "explanation": null_explanation(t)},
            "queries_to_alpha": self.queries_to_alpha, "suspect": self.suspect,
            "ledger": self.ledger.model_dump(), "examples": self.examples, "seconds": round(self.seconds, 2),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }


def null_explanation(t: OwnershipTest) -> str:
    return (f"For each replayed input the watermark class was drawn by a secret key, uniformly among the "
            f"{t.n_classes - 1} classes our model did not answer. A model that never learnt from our answers cannot "
            f"know that draw: where it disagrees with our real answer it lands on the watermark class with "
            f"probability 1/{t.n_classes - 1}, where it agrees never. The suspect disagreed with our real answer on "
            f"{t.disagreements} of {t.queries} inputs, so without our answers it would hit about "
            f"{t.disagreements / (t.n_classes - 1):.2f} watermarks (a rate of {t.null_rate:.4f} per query, measured on "
            f"the suspect itself). It hit {t.hits}. The p-value is the exact one-sided binomial probability of "
            f"{t.hits} or more hits in {t.disagreements} tries at 1/{t.n_classes - 1}.")


async def verify(suspect, entries: list[LedgerEntry], ledger: LedgerSummary, max_queries: int = 2000,
                 alpha: float = 1e-6, seed: int = 0) -> Verification:
    if not entries:
        who = f"client {ledger.client_id!r}" if ledger.client_id else "any client"
        raise VerifyError(f"the watermark ledger holds no genuine watermarked answer to {who} "
                          f"({ledger.entries} entries read, {ledger.rejected} not confirmed by the keys): nothing to replay")
    started = time.perf_counter()
    sample = list(entries)
    random.Random(seed).shuffle(sample)  # a fair sample when capped, and a fair order for queries_to_alpha
    sample = sample[:max_queries]
    answers = await suspect.labels([e.text for e in sample])
    outcomes = [(answer == e.answer_class, answer != e.true_class) for answer, e in zip(answers, sample)]
    # Entries from versions with fewer classes have the larger null rate: the conservative choice.
    n_classes = min(e.n_classes for e in sample)
    test = OwnershipTest(len(sample), sum(h for h, _ in outcomes), sum(d for _, d in outcomes), n_classes)
    examples = [{"text": e.text, "our_answer": e.true_class, "watermark_answer": e.answer_class,
                 "suspect_answer": a, "client_id": e.client_id, "answered_at": e.time.isoformat()}
                for a, e in zip(answers, sample) if a == e.answer_class][:5]
    return Verification(suspect.description, ledger, test, alpha, queries_needed(outcomes, n_classes, alpha),
                        examples, time.perf_counter() - started)


def render_markdown(report: dict) -> str:
    s, led, null = report["suspect"], report["ledger"], report["null"]
    where = s.get("path") or f"{s.get('address')} model {s.get('model')} ({s.get('version')})"
    meaning = {
        "derived": f"The suspect reproduces our secret watermark answers far beyond chance (p below the significance "
                   f"level {report['alpha']:g}). It was trained on answers from our API.",
        "inconclusive": "The suspect hits more watermarks than expected, but not enough to claim derivation. Replay "
                        "more ledger inputs (a larger --max-queries, or every client's ledger) before concluding.",
        "no evidence": "The suspect hits no more watermarks than a model that never saw our answers. This does not "
                       "prove innocence: a thief whose queries are not in this ledger leaves nothing to find here.",
    }[report["verdict"]]
    p = f"{report['p_value']:.3g}" if report["p_value"] > 0 else f"10^{report['log10_p_value']:.1f}"
    lines = [
        "# Watermark verification", "",
        f"**Verdict: {report['verdict']}.** {meaning}", "",
        "| | |", "|---|---|",
        f"| Suspect | {s['kind']}: {where} |",
        (f"| Ledger | {'client ' + led['client_id'] if led['client_id'] else 'all clients'}: "
         f"{led['distinct_inputs']} watermarked inputs ({', '.join(led['models'])}) |"),
        f"| Queries to the suspect | {report['queries']} |",
        f"| Watermark answers reproduced | {report['watermark_hits']} |",
        f"| Expected without our answers | {null['expected_hits']:.2f} |",
        f"| Suspect disagrees with our real answer | {report['disagreements']} of {report['queries']} |",
        f"| p-value (one-sided, exact binomial) | {p} |",
        f"| Significance level | {report['alpha']:g} |",
        f"| Queries that reached it | {report['queries_to_alpha'] or 'not reached'} |",
        "", "## The test", "", null["explanation"], "",
        ("The watermark classes are checked against the keys before use: an entry whose key does not select its "
         f"input and choose its answer is not counted ({led['rejected']} such entries in this ledger)."), "",
    ]
    if report["examples"]:
        lines += ["## Examples of reproduced watermarks", "", "| Input | Our answer | Watermark (and suspect's) answer |",
                  "|---|---|---|"]
        lines += [f"| {e['text'][:90].replace('|', '/')} | {e['our_answer']} | {e['watermark_answer']} |"
                  for e in report["examples"]]
        lines.append("")
    lines.append(f"Made {report['created_at']} by `distillery verify` in {report['seconds']} s.")
    return "\n".join(lines) + "\n"


def write_report(verification: Verification | TextVerification, out: Path,
                 answers: list[str] | None = None) -> tuple[Path, Path]:
    """report.json and report.md; with a generative suspect, its answers too (answers.jsonl: the evidence)."""
    out.mkdir(parents=True, exist_ok=True)
    if answers is not None:
        (out / "answers.jsonl").write_text("".join(json.dumps({"text": a}) + "\n" for a in answers))
    report = verification.to_dict()
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(render_markdown(report) if isinstance(verification, Verification)
                                   else render_text_markdown(report))
    return out / "report.json", out / "report.md"


# ---- texts: did they come from our API? (shared.text_watermark) ------------------------------------

def read_texts(path: Path) -> list[str]:
    """JSONL (each line a string, or an object with "text", "content" or "completion") or plain text,
    one text per line."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines or not lines[0].lstrip().startswith(("{", '"')):
        return lines
    texts = []
    for number, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VerifyError(f"{path}:{number}: not JSON ({exc.msg}); give JSONL throughout, or plain text "
                              "with one text per line") from None
        text = row if isinstance(row, str) else next((row[k] for k in ("text", "content", "completion")
                                                      if isinstance(row, dict) and isinstance(row.get(k), str)), None)
        if text is None:
            raise VerifyError(f"{path}:{number}: a JSON line must be a string or an object with a string "
                              "\"text\", \"content\" or \"completion\"")
        texts.append(text)
    return texts


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """JSONL of {"prompt", "answer"} (or "completion"): answers our API gave, for a suspect to read."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise VerifyError(f"{path}:{number}: not JSON ({exc.msg})") from None
        answer = row.get("answer", row.get("completion")) if isinstance(row, dict) else None
        if not isinstance(answer, str) or not isinstance(row.get("prompt"), str):
            raise VerifyError(f"{path}:{number}: each line must be an object with a string \"prompt\" (the user's "
                              "message) and \"answer\" (our API's answer to it)")
        pairs.append((row["prompt"], answer))
    if not pairs:
        raise VerifyError(f"{path}: no (prompt, answer) pairs")
    return pairs


@dataclass
class TextVerification:
    tests: list  # one shared.text_watermark.TextTest per key, newest first
    alpha: float
    tokenizer: str
    suspect: dict | None = None  # where the texts came from, when we asked a model for them
    # With a suspect's logits: the same answers scored on their own tokens alone. Which of the two
    # is stronger depends on the suspect (its logits add pairs but dilute the share), so the verdict
    # takes both, at twice the price.
    generated_only: list | None = None

    @property
    def log10_p_value(self) -> float:
        """The best p-value of the tests tried times their number (Bonferroni): a key per test, and
        with a suspect's logits two tests per key (its top k scored, its own tokens alone). Trying
        every old key, or both tests, must not make ordinary text look marked."""
        tried = [*self.tests, *(self.generated_only or [])]
        return min(0.0, min(t.log10_p_value for t in tried) + math.log10(len(tried)))

    @property
    def verdict(self) -> str:
        if self.log10_p_value < math.log10(self.alpha):
            return "derived" if self.suspect else "watermarked"
        return "inconclusive" if 10 ** self.log10_p_value < INCONCLUSIVE_P else "no evidence"

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "p_value": 10 ** self.log10_p_value,
                "log10_p_value": round(self.log10_p_value, 3), "alpha": self.alpha, "tokenizer": self.tokenizer,
                "suspect": self.suspect,
                "keys": [{"key_id": t.key_id, "texts": t.texts, "tokens": t.tokens, "pairs_scored": t.scored,
                          "green": t.green, "expected_green": round(t.expected, 2), "z": round(t.z, 2),
                          "log10_p_value": round(t.log10_p_value, 3)} for t in self.tests],
                **({"generated_tokens_only": [{"key_id": t.key_id, "pairs_scored": t.scored, "green": t.green,
                                               "log10_p_value": round(t.log10_p_value, 3)}
                                              for t in self.generated_only]} if self.generated_only else {}),
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def verify_texts(texts: list[str], encode, keys: list, alpha: float = 1e-6, tokenizer: str = "") -> TextVerification:
    """Score the texts against each key's green lists (each (context, token) pair once)."""
    if not texts:
        raise VerifyError("no texts to test")
    ids = [encode(text) for text in texts]
    return TextVerification([score_texts(key, ids) for key in keys], alpha, tokenizer)


@dataclass
class RankedAnswer:
    """A suspect's answer with what its logits said: the tokens it wrote, as ids of our tokenizer
    (None when they are not all ours: then its text is scored), and at each position the tokens it
    ranked highest (its top k, ours among them)."""

    text: str
    ids: list[int] | None = None
    alternatives: list[list[int]] = field(default_factory=list)


def ranked_answer(text: str, tokens: list[bytes], alternatives: list[list[bytes]],
                  vocabulary: dict[bytes, int]) -> RankedAnswer:
    """An answer whose tokens (and top-k alternatives) are given by their bytes, in our token ids."""
    ids = [vocabulary.get(t) for t in tokens]
    if any(i is None for i in ids):
        return RankedAnswer(text)  # another tokenizer: the text is scored as text
    return RankedAnswer(text, [i for i in ids if i is not None],
                        [[i for i in map(vocabulary.get, others) if i is not None] for others in alternatives])


def render_text_markdown(report: dict) -> str:
    meaning = {
        "watermarked": "These texts carry our generations' watermark far beyond chance: they were generated by our "
                       "API, possibly edited since (or by someone who has learnt our green lists from it).",
        "derived": "The suspect model writes our watermark's green tokens far beyond chance: it learnt from "
                   "generations of our API (or passes our API's answers on).",
        "inconclusive": "More green tokens than chance, not enough to claim them: test more text from the same source "
                        "(or ask the suspect more prompts: a larger --max-queries).",
        "no evidence": "No more green tokens than text made without our key. Paraphrased or very short text, or a "
                       "model trained on little of ours, can lose the mark: this does not prove innocence.",
    }[report["verdict"]]
    suspect = report.get("suspect")
    ranked = suspect.get("top_k_scored") if suspect else 0
    if suspect and suspect.get("mode") == "reading":
        asked = [f"Suspect: {suspect['kind']} {suspect.get('path')}, run here: it read {suspect['texts_read']} answers of "
                 f"our API (their prompts and our marked answers) in {suspect['seconds']} s, and at every position of "
                 f"an answer whose context was new to it its top {ranked} tokens are scored (each distinct pair once). "
                 "It was asked nothing: its predictions depend only on the tokens before them, so a model that never "
                 f"learnt from our text predicts green with probability {GAMMA}.", ""]
    elif suspect:
        asked = [f"Suspect: {suspect['kind']} {suspect.get('path') or suspect.get('address')} "
                 f"{suspect.get('model', '')}, asked {suspect['queries']} prompts of ours in {suspect['seconds']} s. "
                 + (f"Its logits were read: at each of {suspect['positions_with_top_k']} positions its top {ranked} "
                    f"tokens are scored besides the one it wrote (each distinct pair once); on the tokens it wrote "
                    f"alone, the best key's log10 p is {min(k['log10_p_value'] for k in report['generated_tokens_only'])}. "
                    "The verdict's p is the smaller of the two tests' times the number of tests tried."
                    if ranked else "Its answers' tokens are scored."), ""]
    else:
        asked = []
    lines = ["# Text watermark verification", "", f"**Verdict: {report['verdict']}.** {meaning}", "", *asked,
             f"p = {report['p_value']:.3g} (log10 {report['log10_p_value']}), significance level {report['alpha']:g}; "
             f"tokenizer: {report['tokenizer']}.", "",
             "| key | texts | tokens | distinct (context, token) pairs | green | expected | z | log10 p |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {k['key_id']} | {k['texts']} | {k['tokens']} | {k['pairs_scored']} | {k['green']} | "
              f"{k['expected_green']} | {k['z']} | {k['log10_p_value']} |" for k in report["keys"]]
    lines += ["", "Under the null (text made without the key) each distinct pair is green with probability "
              f"{GAMMA}, independently, so the green count is binomial and the p-value exact; repeated pairs count "
              "once, so repetition cannot inflate it. With several keys the best p-value is multiplied by their "
              "number.", "", f"Made {report['created_at']} by `distillery verify --text`."]
    return "\n".join(lines) + "\n"


# ---- a generative suspect: was it trained on our watermarked generations? ("radioactivity") ----------

PROBE_PHRASING = "Define the word '{lemma}' in one sentence."


def probe_prompts(n: int, seed: int = 0) -> list[str]:
    """Prompts of our choosing: definitions of WordNet's common words (every part of speech), in a
    fixed shuffled order, so two runs ask the same things."""
    import gzip

    with gzip.open(Path(__file__).resolve().parent.parent / "data/wordnet/definitions.jsonl.gz", "rt") as f:
        lemmas = sorted({json.loads(line)["lemma"] for line in f})
    random.Random(seed).shuffle(lemmas)
    return [PROBE_PHRASING.format(lemma=lemma) for lemma in lemmas[:n]]


class OpenAISuspect:
    """A chat model behind any OpenAI-compatible endpoint, asked greedily."""

    def __init__(self, base_url: str, model: str, api_key: str, max_tokens: int = 64, concurrency: int = 4) -> None:
        self.base_url, self.model, self.api_key = base_url, model, api_key or "none"
        self.max_tokens, self.concurrency = max_tokens, concurrency
        self.description = {"kind": "openai", "address": base_url, "model": model}

    async def generate(self, prompts: list[str]) -> list[str]:
        import openai

        from cli.served import chat_answers

        try:
            got = await chat_answers(self.base_url, self.api_key, self.model,
                                     [{"id": str(i), "text": p} for i, p in enumerate(prompts)], self.concurrency,
                                     self.max_tokens)
        except openai.APIError as exc:
            raise VerifyError(f"the suspect at {self.base_url} (model {self.model!r}) did not answer: {exc}") from None
        return [got["answers"][str(i)] for i in range(len(prompts))]

    async def ranked(self, prompts: list[str], top_k: int, vocabulary: dict[bytes, int]) -> list[RankedAnswer]:
        """Greedy answers with their top_logprobs (the endpoint's own limit on k applies)."""
        import openai

        api = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=3, timeout=600)
        gate = asyncio.Semaphore(self.concurrency)

        async def answer(prompt: str) -> RankedAnswer:
            async with gate:
                reply = await api.chat.completions.create(
                    model=self.model, messages=[{"role": "user", "content": prompt}], max_tokens=self.max_tokens,
                    temperature=0, logprobs=True, top_logprobs=top_k)
            choice = reply.choices[0]
            text, content = choice.message.content or "", choice.logprobs.content if choice.logprobs else None
            if not content or any(t.bytes is None for t in content):
                return RankedAnswer(text)  # no logprobs given: the text is scored as text
            return ranked_answer(text, [bytes(t.bytes or []) for t in content],
                                 [[bytes(a.bytes or []) for a in t.top_logprobs] for t in content], vocabulary)

        try:
            return list(await asyncio.gather(*(answer(p) for p in prompts)))
        except openai.BadRequestError as exc:
            raise VerifyError(f"the suspect at {self.base_url} refused logprobs (top_logprobs={top_k}): {exc.message}; "
                              "give a smaller --top-logprobs, or 0 to score its answers' text alone") from None
        except openai.APIError as exc:
            raise VerifyError(f"the suspect at {self.base_url} (model {self.model!r}) did not answer: {exc}") from None
        finally:
            await api.close()


class OipChatSuspect:
    """A chat model behind an Open Inference Protocol gRPC server in Triton's LLM convention (a BYTES
    `text_input` in, `text_output` out, as our inference service serves one), asked greedily with
    the parameters `apply_chat_template` and `exclude_input_in_output`. A server that does not
    apply the model's chat template needs prompts written in it (`--prompts`)."""

    def __init__(self, address: str, model: str, api_key: str = "", version: str = "", max_tokens: int = 64,
                 concurrency: int = 4) -> None:
        self.address, self.model, self.api_key, self.version = address, model, api_key, version
        self.max_tokens, self.concurrency = max_tokens, concurrency
        self.description = {"kind": "oip-grpc", "address": address, "model": model, "version": version or "served",
                            "generative": True}

    def request(self, prompt: str) -> pb.ModelInferRequest:
        return pb.ModelInferRequest(
            model_name=self.model, model_version=self.version,
            inputs=[pb.ModelInferRequest.InferInputTensor(
                name=GENERATION_INPUT, datatype="BYTES", shape=[1],
                contents=pb.InferTensorContents(bytes_contents=[prompt.encode()]))],
            parameters={"max_tokens": pb.InferParameter(int64_param=self.max_tokens),
                        "temperature": pb.InferParameter(double_param=0.0),
                        "apply_chat_template": pb.InferParameter(bool_param=True),
                        "exclude_input_in_output": pb.InferParameter(bool_param=True)})

    async def generate(self, prompts: list[str]) -> list[str]:
        client = OipClient(self.address, self.api_key, timeout_s=600)  # a grpc.aio channel belongs to the running loop
        gate = asyncio.Semaphore(self.concurrency)

        async def answer(prompt: str) -> str:
            async with gate:
                response = await client.stub.ModelInfer(self.request(prompt), metadata=client._metadata(),
                                                        timeout=client.timeout_s)
            try:
                texts = texts_from_response(response, GENERATION_OUTPUT)
            except KeyError:
                raise VerifyError(f"the suspect at {self.address} (model {self.model!r}) answered without "
                                  f"{GENERATION_OUTPUT!r}: not a generative model in Triton's LLM convention") from None
            return texts[0] if texts else ""

        try:
            return list(await asyncio.gather(*(answer(p) for p in prompts)))
        except grpc.aio.AioRpcError as exc:
            raise VerifyError(f"the suspect at {self.address} (model {self.model!r}) answered {exc.code().name}: "
                              f"{exc.details()}") from None
        finally:
            await client.close()


async def oip_is_generative(address: str, model: str, api_key: str = "", version: str = "") -> bool:
    """Whether the OIP model takes Triton's LLM `text_input` (its metadata says), not texts to classify."""
    async with OipClient(address, api_key) as client:
        try:
            metadata = await client.stub.ModelMetadata(pb.ModelMetadataRequest(name=model, version=version),
                                                       metadata=client._metadata(), timeout=client.timeout_s)
        except grpc.aio.AioRpcError as exc:
            raise VerifyError(f"the suspect at {address} (model {model!r}) answered {exc.code().name}: "
                              f"{exc.details()}") from None
    return any(tensor.name == GENERATION_INPUT for tensor in metadata.inputs)


class OnnxChatSuspect:
    """A generative model folder as Distillery exports one (model.onnx with its KV cache, tokenizer.json,
    model.json with the chat template), run greedily here on the CPU."""

    def __init__(self, folder: Path, max_tokens: int = 64) -> None:
        from shared.generation import LanguageModel

        folder = folder.parent if folder.suffix == ".onnx" else folder
        try:
            self.model = LanguageModel(folder, device="cpu")
        except Exception as exc:  # onnxruntime and tokenizers raise their own kinds
            raise VerifyError(f"{folder}: not a chat model folder Distillery can run (model.onnx with its KV cache, "
                              f"tokenizer.json, model.json): {exc}") from None
        self.max_tokens = max_tokens
        self.description = {"kind": "onnx", "path": str(Path(folder).resolve()), "generative": True}

    async def generate(self, prompts: list[str]) -> list[str]:
        def answer(prompt: str) -> str:
            ids = self.model.encode(self.model.render_chat([{"role": "user", "content": prompt}]))
            return self.model.decode(self.model.greedy(ids, self.max_tokens)[0])

        return [await asyncio.to_thread(answer, p) for p in prompts]

    async def ranked(self, prompts: list[str], top_k: int, vocabulary: dict[bytes, int]) -> list[RankedAnswer]:
        """Greedy answers with the top k of the logits each token was chosen from."""
        import numpy as np

        table = self.model.token_bytes

        def answer(prompt: str) -> RankedAnswer:
            ids = self.model.encode(self.model.render_chat([{"role": "user", "content": prompt}]))
            tokens, alternatives = [], []
            for token, logits in self.model.greedy_steps(ids, self.max_tokens):
                if token in self.model.eos_token_ids:
                    break
                tokens.append(token)
                k = min(top_k, len(logits))
                alternatives.append([table[int(t)] for t in np.argpartition(logits, -k)[-k:]])
            return ranked_answer(self.model.decode(tokens), [table[t] for t in tokens], alternatives, vocabulary)

        return [await asyncio.to_thread(answer, p) for p in prompts]

    async def read(self, pairs: list[tuple[str, str]], top_k: int, vocabulary: dict[bytes, int],
                   batch: int = 16) -> list[Reading]:
        """Teacher-forced on (prompt, answer) pairs, `batch` at a time: see `Reading`."""
        table = self.model.token_bytes

        def read_batch(part: list[tuple[str, str]]) -> list[Reading]:
            prompts = [self.model.encode(self.model.render_chat([{"role": "user", "content": q}])) for q, _ in part]
            texts = [self.model.encode(a) for _, a in part]
            ranked = self.model.forced_top_k(prompts, texts, top_k)
            return [reading(p, t, r, table, vocabulary) for p, t, r in zip(prompts, texts, ranked)]

        readings: list[Reading] = []
        for start in range(0, len(pairs), batch):
            readings += await asyncio.to_thread(read_batch, pairs[start:start + batch])
        return readings


@dataclass
class Reading:
    """One of our marked texts as a suspect read it (shared.text_watermark.score_reading): the prompt
    and the text as ids of our tokenizer, and at each position of the text the ids of the tokens the
    suspect ranked highest there."""

    prompt: list[int]
    text: list[int]
    predicted: list[list[int]]


def reading(prompt: list[int], text: list[int], ranked: list[list[int]], table: list[bytes],
            vocabulary: dict[bytes, int]) -> Reading:
    """A suspect's reading in our token ids. Reading needs the suspect to share our tokenizer: its
    contexts must be the very tokens our green lists were drawn after."""
    ours = [vocabulary.get(table[t]) for t in [*prompt, *text]]
    if any(i is None for i in ours):
        raise VerifyError("the suspect's tokenizer is not ours, so it cannot read our texts token for token; "
                          "ask it prompts instead (leave out --read)")
    ids = [i for i in ours if i is not None]
    return Reading(ids[:len(prompt)], ids[len(prompt):],
                   [[i for i in (vocabulary.get(table[t]) for t in position) if i is not None] for position in ranked])


class SafetensorsChatSuspect:
    """A chat model as Hugging Face weights (a folder with config.json, *.safetensors and its
    tokenizer, chat template included; or its model.safetensors file), run here greedily with
    transformers on the CPU: how a distilled model is most often shared."""

    def __init__(self, path: Path, max_tokens: int = 64) -> None:
        folder = path.parent if path.suffix == ".safetensors" else path
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise VerifyError("safetensors suspects are run with torch and transformers, which this install "
                              "lacks") from None
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(folder)
            self.model: Any = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        except (OSError, ValueError) as exc:
            raise VerifyError(f"{folder}: not a Hugging Face chat model folder (config.json, *.safetensors, "
                              f"tokenizer files): {exc}") from None
        if not self.tokenizer.chat_template:
            raise VerifyError(f"{folder}: its tokenizer has no chat template to ask it with")
        self.torch, self.max_tokens = torch, max_tokens
        self.description = {"kind": "safetensors", "path": str(folder.resolve()), "generative": True}

    async def generate(self, prompts: list[str]) -> list[str]:
        def answer(prompt: str) -> str:
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                     return_tensors="pt", return_dict=True)
            with self.torch.no_grad():
                out = self.model.generate(**ids, max_new_tokens=self.max_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.eos_token_id)
            return self.tokenizer.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)

        return [await asyncio.to_thread(answer, p) for p in prompts]

    async def ranked(self, prompts: list[str], top_k: int, vocabulary: dict[bytes, int]) -> list[RankedAnswer]:
        """Greedy answers with the top k of the scores each token was chosen from."""
        from shared.tokens import token_bytes_table

        table, special = token_bytes_table(self.tokenizer.backend_tokenizer), set(self.tokenizer.all_special_ids)

        def answer(prompt: str) -> RankedAnswer:
            ids = self.tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True,
                                                     return_tensors="pt", return_dict=True)
            with self.torch.no_grad():
                out = self.model.generate(**ids, max_new_tokens=self.max_tokens, do_sample=False,
                                          pad_token_id=self.tokenizer.eos_token_id, output_scores=True,
                                          return_dict_in_generate=True)
            written = out.sequences[0, ids["input_ids"].shape[1]:].tolist()
            end = next((i for i, t in enumerate(written) if t in special), len(written))
            alternatives = [[table[t] for t in scores[0].topk(min(top_k, scores.shape[-1])).indices.tolist()] for scores in out.scores[:end]]
            return ranked_answer(self.tokenizer.decode(written[:end]), [table[t] for t in written[:end]], alternatives,
                                 vocabulary)

        return [await asyncio.to_thread(answer, p) for p in prompts]

    async def read(self, pairs: list[tuple[str, str]], top_k: int, vocabulary: dict[bytes, int]) -> list[Reading]:
        """Teacher-forced on (prompt, answer) pairs, one forward pass each: see `Reading`."""
        from shared.tokens import token_bytes_table

        table = token_bytes_table(self.tokenizer.backend_tokenizer)

        def read_one(question: str, answer: str) -> Reading:
            prompt = self.tokenizer.apply_chat_template([{"role": "user", "content": question}], add_generation_prompt=True,
                                                        return_tensors="pt", return_dict=True)["input_ids"][0].tolist()
            text = self.tokenizer.encode(answer, add_special_tokens=False)
            with self.torch.no_grad():
                logits = self.model(input_ids=self.torch.tensor([prompt + text])).logits[0]
            # The logits at position i rank the token at i + 1: the text's are the prompt's last onwards.
            before = logits[len(prompt) - 1:len(prompt) + len(text) - 1]
            return reading(prompt, text, before.topk(min(top_k, before.shape[-1])).indices.tolist(), table, vocabulary)

        return [await asyncio.to_thread(read_one, q, a) for q, a in pairs]


def is_generative_folder(path: Path) -> bool:
    """Whether --onnx names a chat model, not a classifier: the inference service's own test
    (model.json's kind, services.inference.server)."""
    meta = (path.parent if path.suffix == ".onnx" else path) / "model.json"
    try:
        return meta.exists() and json.loads(meta.read_text()).get("kind") == "text-generation"
    except (OSError, json.JSONDecodeError) as exc:
        raise VerifyError(f"{meta}: not readable as a model's model.json ({exc})") from None


async def verify_generative(suspect, prompts: list[str], encode, keys: list, alpha: float = 1e-6,
                            tokenizer: str = "", top_k: int = 0,
                            vocabulary: dict[bytes, int] | None = None) -> tuple[TextVerification, list[str]]:
    """Ask the suspect every prompt and test its answers for our green lists (each distinct pair once):
    a model trained on our watermarked generations writes green tokens more often than chance.

    With `top_k` and our `vocabulary` (token bytes -> id), a suspect whose logits we can read (an
    OpenAI-compatible endpoint's top_logprobs, a model file) is scored on its top k tokens at every
    position as well as on the ones it wrote: many more distinct pairs from the same queries."""
    if not prompts:
        raise VerifyError("no prompts to ask the suspect")
    started = time.perf_counter()
    if top_k and vocabulary is not None and hasattr(suspect, "ranked"):
        answers = await suspect.ranked(prompts, top_k, vocabulary)
    else:
        answers = [RankedAnswer(text) for text in await suspect.generate(prompts)]
    kept = [a for a in answers if a.text or a.ids]
    if not kept:
        raise VerifyError(f"the suspect gave {len(prompts)} empty answers: nothing to test")
    ids = [a.ids if a.ids is not None else encode(a.text) for a in kept]
    alternatives = [a.alternatives for a in kept]
    ranked = sum(len(others) > 0 for a in kept for others in a.alternatives)
    result = TextVerification([score_texts(key, ids, alternatives if ranked else None) for key in keys], alpha,
                              tokenizer, generated_only=[score_texts(key, ids) for key in keys] if ranked else None)
    result.suspect = {**suspect.description, "queries": len(prompts), "seconds": round(time.perf_counter() - started, 1),
                      "top_k_scored": top_k if ranked else 0, "positions_with_top_k": ranked}
    return result, [a.text for a in answers]


async def verify_reading(suspect, pairs: list[tuple[str, str]], keys: list, alpha: float = 1e-6,
                         tokenizer: str = "", top_k: int = 20,
                         vocabulary: dict[bytes, int] | None = None) -> TextVerification:
    """A model we can run, fed our own marked answers (prompt, answer) and scored on what it ranks
    highest at every position of them (shared.text_watermark.score_reading): no question is put to
    it, and every position of every text asks it about a context our green lists were drawn after."""
    if not pairs:
        raise VerifyError("no (prompt, answer) pairs to read")
    if not hasattr(suspect, "read") or vocabulary is None:
        raise VerifyError("only a model run here (--onnx, --safetensors) can read texts: an endpoint writes answers, "
                          "it does not rank the tokens of ours")
    started = time.perf_counter()
    readings = await suspect.read(pairs, max(1, top_k), vocabulary)
    result = TextVerification([score_reading(key, ((r.prompt, r.text, r.predicted) for r in readings)) for key in keys],
                              alpha, tokenizer)
    result.suspect = {**suspect.description, "queries": 0, "texts_read": len(readings),
                      "seconds": round(time.perf_counter() - started, 1), "top_k_scored": max(1, top_k),
                      "mode": "reading"}
    return result
