"""The teacher side, against real servers on loopback: a fault-injecting OpenAI-compatible HTTP API
(tests/vendor_api.py, standing in for a vendor), our own gRPC inference service, and a local ONNX
model; prompt sources, the cache, budgets and crash safety on the real broker and S3 server."""

from __future__ import annotations

import asyncio
import io
import math
import time
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from services.teacher.adapters import TeacherError, available_kinds, load_adapter
from services.teacher.adapters.openai_chat import class_index, soft_labels
from services.teacher.limits import CircuitBreaker, TeacherGate, TokenBucket
from services.teacher.querying import Budget, Querier, Spend, budget_share, plan_batches
from shared.events import (
    NOT_ASKED,
    BudgetSpec,
    Completion,
    DistillJob,
    PromptTemplate,
    RateLimits,
    TeacherSpec,
)
from shared.prompts import expand_template, load_prompts, parse_jsonl
from tests.vendor_api import GENERATION_LOGPROB, VendorServer, embedding_of, generation_of, true_distribution

ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["animal", "plant", "artifact", "person", "place"]
VENDOR_KEY_ENV = "TEST_VENDOR_KEY"


@pytest.fixture
def vendor():
    with VendorServer() as server:
        yield server


def chat_spec(vendor: VendorServer, **overrides) -> TeacherSpec:
    fields = dict(kind="openai-chat", url=vendor.url, model="gpt-test", classes=CLASSES, batch_size=8,
                  api_key_env=VENDOR_KEY_ENV, timeout_s=1.0, max_attempts=4)
    fields.update(overrides)
    return TeacherSpec(**fields)


def querier(spec: TeacherSpec, budget: BudgetSpec | None = None, api_key: str = "sk-test-vendor"):
    adapter = load_adapter(spec, api_key, None)
    gate = TeacherGate(f"test-{spec.kind}", spec.limits)
    # Fast breaker for tests: opens after 3 failures for 0.5 s.
    gate.breaker = CircuitBreaker(gate.name, threshold=3, cooldown_s=0.5)
    return Querier(adapter, gate, Budget(budget_share(budget or BudgetSpec(), 1.0), Spend()), Counter())


# ---- pure logic -------------------------------------------------------------------------------

def test_adapters_are_found_by_module_name():
    assert available_kinds() == ["oip", "onnx", "openai-chat", "openai-embeddings", "openai-generation"]
    with pytest.raises(ValueError, match=r"unknown teacher kind 'gemini'.*known kinds: oip"):
        load_adapter(TeacherSpec(kind="gemini"), "", None)


def test_the_response_cache_keeps_each_accounts_answers_apart():
    """Our own API watermarks every account but the allow-listed ones, so one account's cached
    answers must not stand in for another's; the default account keys as it did before accounts counted."""
    spec = TeacherSpec(kind="openai-generation", url="http://teacher/v1", model="teacher-lm")
    default, other = (load_adapter(s, "sk", None).cache_identity()
                      for s in (spec, spec.model_copy(update={"api_key_env": "THIEF_API_KEY"})))
    assert "account" not in default and other == {**default, "account": "THIEF_API_KEY"}
    assert load_adapter(spec, "a rotated key", None).cache_identity() == default


def test_soft_labels_from_top_logprobs_spread_what_the_list_leaves_out():
    top = [{"token": "2", "logprob": math.log(0.6)}, {"token": " 4", "logprob": math.log(0.3)},
           {"token": "x", "logprob": math.log(0.05)}]
    probabilities = soft_labels(top, CLASSES)
    assert probabilities[1] == pytest.approx(0.6) and probabilities[3] == pytest.approx(0.3)
    assert probabilities[0] == pytest.approx(0.1 / 3)  # the 0.1 unnamed, over the three classes not named
    assert class_index("Plant", CLASSES) == 1 and class_index("9", CLASSES) is None


def test_prompt_sources_jsonl_parquet_and_templates(store):
    pairs, bad = parse_jsonl(b'{"id": "1", "text": "one"}\nnot json\n{"text": "no id"}\n{"id": "2"}\n')
    assert pairs[0] == ("1", "one") and len(pairs) == 2 and bad == 2
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": ["a", "b", "a"], "text": ["first", "second", "repeat of a"]}), sink)
    uri = store.put_bytes("prompts/test-source.parquet", sink.getvalue())
    template = PromptTemplate(id="define", template="Define {word} for a {reader}.",
                              slots={"word": ["dog", "oak"], "reader": ["child", "chemist"]})
    job = DistillJob(job_id="job-sources", name="sources", prompts_uri=uri, templates=[template])
    prompts, bad = load_prompts(job, store)
    texts = [text for _, text in prompts]
    assert texts[:2] == ["first", "second"] and bad == 0  # the repeated id "a" kept once, the first
    assert texts[2:] == ["Define dog for a child.", "Define dog for a chemist.", "Define oak for a child.",
                         "Define oak for a chemist."]
    # Template prompt ids come from the text: the same prompt keeps its id in every job.
    assert prompts[2][0] == expand_template(template)[0][0]
    with pytest.raises(ValueError, match="slots with no values: reader"):
        expand_template(PromptTemplate(id="t", template="{word} {reader}", slots={"word": ["x"]}))


def test_units_spread_evenly_over_the_partitions():
    job = DistillJob(job_id="j", name="j", prompts_uri="s3://b/k", teacher=TeacherSpec(batch_size=10))
    units = plan_batches(job, [(str(i), f"text {i}") for i in range(95)], partitions=4)
    assert len(units) == 10 and [u.share for u in units] == [0, 1, 2, 3] * 2 + [0, 1]
    assert [p.seq for u in units for p in u.prompts] == list(range(95))
    assert plan_batches(job, [("a", "x")], partitions=12)[0].shares == 1  # no share without work


async def test_request_bucket_never_goes_over_the_limit():
    bucket = TokenBucket(rate=20.0, capacity=1.0)  # 1,200 requests a minute
    times = []
    for _ in range(21):
        await bucket.take()
        times.append(time.monotonic())
    # 21 requests need at least 20 intervals of 1/20 s: never faster than the limit, even at the start.
    assert times[-1] - times[0] >= 20 / 20.0 * 0.98


# ---- against a real HTTP API with faults ---------------------------------------------------

async def test_chat_teacher_gives_soft_labels_and_counts_tokens(vendor):
    q = querier(chat_spec(vendor))
    texts = ["a small dog", "an oak tree", "a hammer"]
    answers = await q.ask(texts)
    for text, answer in zip(texts, answers):
        assert answer.error is None
        assert answer.probabilities == pytest.approx(true_distribution(text, len(CLASSES)), abs=1e-6)
    assert q.counts["queries"] == 3 and q.counts["input_tokens"] > 0 and q.counts["output_tokens"] == 3
    assert q.budget.spent.queries == 3


async def test_429_retry_after_is_honoured_by_every_request(vendor):
    vendor.state.faults.extend(["429:1"])
    q = querier(chat_spec(vendor, limits=RateLimits(max_concurrency=1)))
    answers = await q.ask(["first text", "second text"])
    assert all(a.error is None for a in answers)
    served = vendor.state.served
    assert [r.outcome for r in served] == ["429:1", "ok", "ok"]
    assert served[1].time - served[0].time >= 0.95  # nothing went out until Retry-After had passed
    assert q.counts["rate_limited"] == 1


@pytest.mark.parametrize("fault", ["500", "timeout", "malformed", "truncated"])
async def test_transient_faults_are_retried(vendor, fault):
    vendor.state.timeout_sleep_s = 2.0
    vendor.state.faults.append(fault)
    q = querier(chat_spec(vendor, timeout_s=0.5))
    (answer,) = await q.ask(["a fault on the first try"])
    assert answer.error is None and answer.probabilities is not None
    assert [r.outcome for r in vendor.state.served] == [fault, "ok"]


async def test_a_refusal_is_not_retried_and_a_wrong_key_is_reported_without_the_key(vendor):
    vendor.state.faults.append("400")
    q = querier(chat_spec(vendor))
    (answer,) = await q.ask(["refused"])
    assert answer.error.startswith("failed after 1 attempt(s): 400") and len(vendor.state.served) == 1
    wrong = querier(chat_spec(vendor), api_key="sk-wrong-secret")
    (answer,) = await wrong.ask(["who am I"])
    assert "401" in answer.error and "sk-wrong-secret" not in answer.error


async def test_circuit_breaker_pauses_a_failing_teacher_and_resumes_when_it_is_back(vendor):
    vendor.state.always = "500"
    q = querier(chat_spec(vendor, max_attempts=8, limits=RateLimits(max_concurrency=4)))
    task = asyncio.create_task(q.ask([f"text {i}" for i in range(8)]))
    await asyncio.sleep(2.0)
    sent_while_down = len(vendor.state.served)
    vendor.state.always = None
    answers = await asyncio.wait_for(task, 60)
    assert all(a.error is None for a in answers)  # paused, not failed
    # Retrying with backoff alone, 8 texts would have sent ~30 requests in those 2 s; the open
    # circuit let the first failures through, then one trial at a time.
    assert q.gate.breaker.times_opened >= 1 and sent_while_down <= 10, sent_while_down
    assert q.gate.breaker.state == "closed"


async def test_budget_is_checked_before_every_request_and_never_overrun(vendor):
    spec = chat_spec(vendor, max_tokens=2)
    spec.prices.per_million_input_tokens = 1_000.0  # expensive, to make the money cap bind
    q = querier(spec, BudgetSpec(max_cost=0.5, max_queries=30))
    answers = await q.ask([f"budget text number {i}" for i in range(40)])
    asked = [a for a in answers if a.error is None]
    not_asked = [a for a in answers if a.error and a.error.startswith(NOT_ASKED)]
    assert asked and not_asked and len(asked) + len(not_asked) == 40
    assert q.budget.spent.cost <= 0.5 and q.budget.spent.queries <= 30
    assert len(vendor.state.served) == len(asked) == q.budget.spent.queries


async def test_generation_teacher_keeps_every_position_its_alternatives_and_the_token_count(vendor):
    spec = chat_spec(vendor, kind="openai-generation", classes=[], max_tokens=4, top_logprobs=3,
                     instructions="Define the word in one sentence.")
    q = querier(spec)
    texts = ["two words", "one two three four five six"]
    short, cut = await q.ask(texts)
    for answer, text in ((short, texts[0]), (cut, texts[1])):
        assert answer.error is None
        completion = Completion(**answer.completion)
        expected = generation_of(text)[:4]
        assert completion.text == "".join(expected) and completion.token_texts() == expected
        assert completion.logprobs == pytest.approx([GENERATION_LOGPROB] * len(expected))
        assert all(len(top) == 3 and top[0] == token for top, token in zip(completion.top_tokens, completion.tokens))
        assert all(len(values) == 3 for values in completion.top_logprobs)
    assert Completion(**short.completion).finish_reason == "stop"
    assert Completion(**cut.completion).finish_reason == "length"  # kept: the curator decides
    assert q.counts["output_tokens"] == 2 + 4 and q.budget.spent.tokens > q.counts["output_tokens"]
    # The system message went with every prompt, and each prompt is asked once.
    assert vendor.state.queries_by_text() == Counter(texts)


@pytest.mark.parametrize("fault", ["429:1", "500", "timeout", "malformed", "truncated"])
async def test_generation_teacher_rides_out_a_vendor_fault(vendor, fault):
    vendor.state.timeout_sleep_s = 2.0
    vendor.state.faults.append(fault)
    q = querier(chat_spec(vendor, kind="openai-generation", classes=[], max_tokens=8, timeout_s=0.5))
    (answer,) = await q.ask(["a fault first"])
    assert answer.error is None and Completion(**answer.completion).text == " first fault a"
    assert [r.outcome for r in vendor.state.served] == [fault, "ok"]


async def test_a_generation_teacher_without_logprobs_is_refused_with_why(vendor):
    vendor.state.faults.append("no-logprobs")
    q = querier(chat_spec(vendor, kind="openai-generation", classes=[]))
    (answer,) = await q.ask(["no logprobs"])
    assert "without logprobs" in answer.error and len(vendor.state.served) == 1


async def test_embeddings_teacher(vendor):
    spec = TeacherSpec(kind="openai-embeddings", url=vendor.url, model="embed-test", batch_size=4, timeout_s=1.0)
    q = querier(spec)
    texts = [f"embed {i}" for i in range(6)]
    answers = await q.ask(texts)
    assert [a.embedding for a in answers] == [embedding_of(t) for t in texts]
    assert len(vendor.state.served) == 2 and sum(a.input_tokens for a in answers) > 0


# ---- our own gRPC server and a local ONNX model ---------------------------------------------

async def test_oip_and_onnx_teachers_answer_alike(served):
    texts = ["a small dog barking", "the capital of France", "to run quickly"]
    onnx = querier(TeacherSpec(kind="onnx", url="teacher", batch_size=2), api_key="")
    onnx.adapter.store = __import__("shared.store", fromlist=["ArtifactStore"]).ArtifactStore()
    await onnx.adapter.open()
    local = await onnx.ask(texts)
    oip = querier(TeacherSpec(kind="oip", url=served["url"], model="teacher", batch_size=2), api_key=served["key"])
    await oip.adapter.open()
    remote = await oip.ask(texts)
    assert oip.adapter.classes == onnx.adapter.classes and len(oip.adapter.classes) > 10
    for a, b in zip(local, remote):
        assert a.error is None and b.error is None
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)
    assert oip.counts["queries"] == 2  # two requests of up to two texts
    with pytest.raises(TeacherError, match="NOT_FOUND"):
        await querier(TeacherSpec(kind="oip", url=served["url"], model="no-such-model"),
                      api_key=served["key"]).adapter.open()
