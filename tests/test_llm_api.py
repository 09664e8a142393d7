"""teacher-lm through the OpenAI-compatible API, called with the `openai` SDK as it is: plain and
streamed chats, logprobs, completions, every error a client can meet, a client leaving mid-stream,
and the request events. The service runs in process on the real broker and S3 server."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import openai
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMPT = [{"role": "user", "content": "Define the word 'harbor' in one sentence."}]


@pytest.fixture(scope="module")
async def llm_served(stack, store, teacher_lm_dir, tmp_path_factory):
    from concurrent.futures import ThreadPoolExecutor

    from services.inference.access import AccessControl
    from services.inference.generative import GenerationService, generation_events
    from services.inference.metrics import InferenceMetrics
    from services.inference.oip_generate import GenerativeOip
    from services.inference.openai_api import OpenAIServer, create_openai_app
    from services.inference.server import InferenceServer, InferenceServicer, ModelRepository, RequestEventBuffer
    from services.inference.settings import InferenceSettings
    from services.inference.watermarking import Watermarking
    from shared.kafka import KeyedBatchPublisher, make_broker
    from shared.keys import EnforcementStore, KeyStore
    from shared.registry import ModelRegistry
    from shared.watermark import parse_keys

    registry = ModelRegistry(store)
    if not registry.promoted("teacher-lm"):
        version, _ = registry.register("teacher-lm", teacher_lm_dir)
        registry.promote("teacher-lm", version)
    broker = make_broker(stack.config.kafka(), "test-llm")
    await broker.connect()
    executor = ThreadPoolExecutor(4)
    events = RequestEventBuffer(KeyedBatchPublisher(broker.publisher("inference.generations", batch=True),
                                                    stack.config.kafka(), "inference.generations").publish,
                                build=generation_events, size_of=lambda _: 1, topic="inference.generations")
    metrics = InferenceMetrics()
    settings = InferenceSettings(max_sequences=4, max_waiting_sequences=6)
    repository = ModelRepository(ModelRegistry(store), tmp_path_factory.mktemp("models"), "auto", executor,
                                 settings, metrics)
    keys = KeyStore(store)
    access = AccessControl(keys, EnforcementStore(store), executor)
    # As deployed: generations are watermarked for every key but the allow-listed (here the tests' own).
    watermark_keys = parse_keys("llm-test:" + "fixed-secret-" * 3)  # fixed: the tests' texts are too
    service = GenerationService(repository, access, events, metrics,
                                Watermarking(watermark_keys, allow_clients=frozenset({"llm-client"}), text_delta=2.0))
    http = OpenAIServer(create_openai_app(service), "127.0.0.1", 0)
    servicer = InferenceServicer(repository, access, events, executor, max_batch=64)
    servicer.generative = GenerativeOip(service)
    grpc_server = InferenceServer(servicer, "127.0.0.1:0")
    events.start()
    await http.start()
    await grpc_server.start()
    await repository.load("teacher-lm", registry.promoted("teacher-lm"))
    service.ready = True
    await grpc_server.set_serving(True)
    yield {"url": f"http://127.0.0.1:{http.port}/v1", "key": keys.create("llm-client"), "keys": keys,
           "service": service, "events": events, "access": access, "metrics": metrics,
           "grpc_url": f"127.0.0.1:{grpc_server.port}", "repository": repository, "registry": registry,
           "model_dir": teacher_lm_dir, "watermark_keys": watermark_keys}
    await grpc_server.stop(0)
    await http.stop()
    await events.stop()
    for loaded in repository.loaded.get("teacher-lm", {}).values():
        assert loaded.generator is not None
        loaded.generator.stop()
    await broker.stop()


def client(served, key: str | None = None) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=served["url"], api_key=key or served["key"], max_retries=0)


async def wait_for(condition, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def engine(served):
    return served["service"].model("teacher-lm").generator


async def test_models_lists_teacher_lm(llm_served):
    api = client(llm_served)
    models = await api.models.list()
    assert [m.id for m in models.data] == ["teacher-lm"]
    assert (await api.models.retrieve("teacher-lm")).id == "teacher-lm"
    with pytest.raises(openai.NotFoundError):
        await api.models.retrieve("no-such-model")


async def test_chat_plain_and_streamed_agree_with_exact_usage(llm_served):
    api = client(llm_served)
    lm = engine(llm_served).model
    prompt_tokens = len(lm.encode(lm.render_chat(PROMPT)))
    plain = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=12, temperature=0)
    assert plain.choices[0].finish_reason == "length"
    assert plain.usage.prompt_tokens == prompt_tokens and plain.usage.completion_tokens == 12
    assert plain.usage.total_tokens == prompt_tokens + 12
    text = plain.choices[0].message.content
    assert text and plain.choices[0].message.role == "assistant"

    stream = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=12, temperature=0,
                                               stream=True, stream_options={"include_usage": True})
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["length"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12
    # The same prompt again: its whole blocks came from the prefix cache, and the answer is the same.
    prefix_cache = engine(llm_served).prefix_cache
    assert prefix_cache is not None and chunks[-1].usage.prompt_tokens_details is not None
    assert chunks[-1].usage.prompt_tokens_details.cached_tokens == (prompt_tokens - 1) // prefix_cache.block * prefix_cache.block
    assert all(c.usage is None for c in chunks[:-1])


async def test_chat_stops_at_end_of_turn_and_at_stop_strings(llm_served):
    api = client(llm_served)
    done = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=200, temperature=0)
    assert done.choices[0].finish_reason == "stop"  # the model ended its turn
    full = done.choices[0].message.content
    word = full.split()[3]
    cut = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=200, temperature=0,
                                            stop=[word])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == full[:full.index(word)]


async def test_logprobs_and_top_logprobs(llm_served):
    reply = await client(llm_served).chat.completions.create(
        model="teacher-lm", messages=PROMPT, max_tokens=6, temperature=0, logprobs=True, top_logprobs=5)
    content = reply.choices[0].logprobs.content
    assert len(content) == 6
    for entry in content:
        assert len(entry.top_logprobs) == 5
        assert entry.token == entry.top_logprobs[0].token  # greedy takes the best
        assert entry.logprob == pytest.approx(entry.top_logprobs[0].logprob)
        assert entry.logprob <= 0
    assert "".join(e.token for e in content) == reply.choices[0].message.content
    assert b"".join(bytes(e.bytes) for e in content) == reply.choices[0].message.content.encode()


async def test_a_token_that_is_part_of_a_character_has_its_own_bytes(llm_served):
    # Asked to echo non-ASCII text, the model makes tokens that split characters: each token's
    # bytes are its own (as the OpenAI API gives them), so they join into the text exactly.
    reply = await client(llm_served).chat.completions.create(
        model="teacher-lm", messages=[{"role": "user", "content": "Repeat exactly: 日本語 — naïve café 🙂"}],
        max_tokens=24, temperature=0, logprobs=True, top_logprobs=2)
    content = reply.choices[0].logprobs.content
    joined = b"".join(bytes(e.bytes) for e in content)
    if reply.choices[0].finish_reason == "stop":
        assert joined.decode() == reply.choices[0].message.content
    else:  # cut mid-character at max_tokens: the text shows what decodes
        assert joined.decode(errors="ignore").startswith(reply.choices[0].message.content.rstrip("\ufffd"))
    for entry in content:
        for alternative in entry.top_logprobs:
            assert alternative.bytes is not None and len(alternative.bytes) > 0


async def test_the_generation_teacher_distils_from_our_own_api(llm_served):
    """The teacher service's adapter for any OpenAI-compatible chat model, against teacher-lm served
    here: every position's token and top-k, as bytes that map back to the model's own token ids."""
    from collections import Counter

    from tokenizers import Tokenizer

    from services.teacher.adapters import load_adapter
    from services.teacher.limits import TeacherGate
    from services.teacher.querying import Budget, Querier, Spend, budget_share
    from shared.events import BudgetSpec, Completion, TeacherSpec
    from shared.tokens import vocabulary_by_bytes

    spec = TeacherSpec(kind="openai-generation", url=llm_served["url"], model="teacher-lm", max_tokens=12,
                       top_logprobs=5, instructions="Define the word in one sentence.")
    adapter = load_adapter(spec, llm_served["key"], None)
    querier = Querier(adapter, TeacherGate("test-teacher-lm", spec.limits), Budget(budget_share(BudgetSpec(), 1.0),
                                                                                  Spend()), Counter())
    answers = await querier.ask(["harbor", "lantern"])
    await adapter.close()
    tokenizer = Tokenizer.from_file(str(Path(llm_served["model_dir"]) / "tokenizer.json"))
    by_bytes = vocabulary_by_bytes(tokenizer)
    for answer in answers:
        assert answer.error is None
        completion = Completion(**answer.completion)
        assert 0 < len(completion.tokens) == answer.output_tokens <= 12
        ids = [by_bytes[bytes.fromhex(t)] for t in completion.tokens]  # KeyError: not a token of the model
        assert all(len(top) == 5 and top[0] == token for top, token in zip(completion.top_tokens, completion.tokens))
        assert all(b <= a for values in completion.top_logprobs for a, b in itertools.pairwise(values))
        assert completion.finish_reason in ("stop", "length")
        assert tokenizer.decode(ids, skip_special_tokens=True) == completion.text
    assert querier.counts["output_tokens"] == sum(a.output_tokens for a in answers)


WORDS = ("harbor", "lantern", "meadow", "violin", "glacier", "orchard", "ladder", "compass")


async def test_generations_for_keys_off_the_allow_list_carry_the_watermark_verify_names(llm_served, tmp_path):
    from cli.verify import verify_texts
    from shared.generation import ChatFormat

    async def answers(key: str) -> list[str]:
        api, replies = client(llm_served, key), []
        for start in range(0, len(WORDS), 4):  # the fixture's engine takes 4 at once and queues 6
            replies += await asyncio.gather(*(api.chat.completions.create(
                model="teacher-lm", messages=[{"role": "user", "content": f"Define the word '{w}' in one sentence."}],
                max_tokens=40, temperature=0) for w in WORDS[start:start + 4]))
        return [r.choices[0].message.content or "" for r in replies]

    outsider, ours = await answers(llm_served["keys"].create("llm-outsider")), await answers(llm_served["key"])
    assert all(outsider) and outsider != ours  # the mark changes greedy answers, not their being answers
    encode, keys = ChatFormat(llm_served["model_dir"]).encode, llm_served["watermark_keys"]
    assert verify_texts(outsider, encode, keys).verdict == "watermarked"
    assert verify_texts(ours, encode, keys).verdict == "no evidence"  # allow-listed: never marked
    # The same through the command an operator runs, reading the texts from a file.
    texts = tmp_path / "suspect.jsonl"
    texts.write_text("".join(json.dumps({"text": t}) + "\n" for t in outsider))
    env = {**os.environ, "WATERMARK_KEYS": ",".join(f"{k.key_id}:{k.secret.decode()}" for k in keys)}
    run = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "cli", "verify", "--text", str(texts), "--tokenizer",
                          str(llm_served["model_dir"]), "--out", str(tmp_path / "report")],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("verdict: watermarked")
    assert json.loads((tmp_path / "report" / "report.json").read_text())["verdict"] == "watermarked"


async def test_a_suspect_chat_model_is_asked_our_prompts_and_named_only_when_it_writes_our_green_lists(llm_served):
    # The suspects here are teacher-lm itself: through an ordinary key (every answer marked, the
    # strongest case of a model trained on them), through the allow-listed key, and its folder run
    # locally without any watermark.
    from cli.verify import (
        OipChatSuspect,
        OnnxChatSuspect,
        OpenAISuspect,
        VerifyError,
        oip_is_generative,
        probe_prompts,
        verify_generative,
    )
    from shared.generation import ChatFormat
    from shared.tokens import vocabulary_by_bytes

    encode, keys = ChatFormat(llm_served["model_dir"]).encode, llm_served["watermark_keys"]
    prompts = probe_prompts(8)
    assert len(set(prompts)) == 8 and prompts == probe_prompts(8)  # the same questions every time
    outsider = llm_served["keys"].create("llm-suspect")
    marked, answers = await verify_generative(OpenAISuspect(llm_served["url"], "teacher-lm", outsider, 40), prompts,
                                              encode, keys)
    assert marked.verdict == "derived" and marked.suspect is not None and marked.suspect["queries"] == 8
    assert len(answers) == 8 and all(answers)
    plain, _ = await verify_generative(OpenAISuspect(llm_served["url"], "teacher-lm", llm_served["key"], 40), prompts,
                                       encode, keys)
    local, _ = await verify_generative(OnnxChatSuspect(llm_served["model_dir"], 40), prompts[:4], encode, keys)
    assert plain.verdict == local.verdict == "no evidence"

    # Where the suspect's logits can be read (top_logprobs, a model file), its top 20 tokens at each
    # position are scored too: many more distinct pairs from the same queries, and the unmarked
    # model's still look like chance.
    vocabulary = vocabulary_by_bytes(ChatFormat(llm_served["model_dir"]).tokenizer)
    ranked, ranked_answers = await verify_generative(OpenAISuspect(llm_served["url"], "teacher-lm", outsider, 40),
                                                     prompts, encode, keys, top_k=20, vocabulary=vocabulary)
    assert ranked.verdict == "derived" and ranked_answers == answers
    assert ranked.suspect is not None and ranked.suspect["top_k_scored"] == 20 and ranked.generated_only
    assert ranked.tests[0].scored > 5 * marked.tests[0].scored
    plain_ranked, _ = await verify_generative(OpenAISuspect(llm_served["url"], "teacher-lm", llm_served["key"], 40),
                                              prompts, encode, keys, top_k=20, vocabulary=vocabulary)
    local_ranked, local_answers = await verify_generative(OnnxChatSuspect(llm_served["model_dir"], 40), prompts[:4],
                                                          encode, keys, top_k=20, vocabulary=vocabulary)
    assert plain_ranked.verdict == local_ranked.verdict == "no evidence"
    assert plain_ranked.tests[0].scored > 5 * plain.tests[0].scored and local_answers == (
        await OnnxChatSuspect(llm_served["model_dir"], 40).generate(prompts[:4]))

    # The same model over OIP gRPC (Triton's LLM convention), told apart from a classifier by its metadata.
    assert await oip_is_generative(llm_served["grpc_url"], "teacher-lm", outsider)
    over_oip, oip_answers = await verify_generative(
        OipChatSuspect(llm_served["grpc_url"], "teacher-lm", outsider, max_tokens=40), prompts, encode, keys)
    assert over_oip.verdict == "derived" and oip_answers == answers  # greedy, the same marks either way
    plain_oip, _ = await verify_generative(
        OipChatSuspect(llm_served["grpc_url"], "teacher-lm", llm_served["key"], max_tokens=40), prompts[:4], encode, keys)
    assert plain_oip.verdict == "no evidence"
    with pytest.raises(VerifyError, match=r"NOT_FOUND|not served"):
        await verify_generative(OipChatSuspect(llm_served["grpc_url"], "no-such-model", outsider), prompts[:1],
                                encode, keys)


async def test_sampling_with_a_seed_repeats_and_n_gives_choices(llm_served):
    api = client(llm_served)
    args = {"model": "teacher-lm", "messages": PROMPT, "max_tokens": 10, "temperature": 1.0, "top_p": 0.9, "seed": 7}
    first = await api.chat.completions.create(**args, n=2)
    again = await api.chat.completions.create(**args, n=2)
    assert [c.message.content for c in first.choices] == [c.message.content for c in again.choices]
    assert [c.index for c in first.choices] == [0, 1]
    assert first.usage.completion_tokens <= 20


async def test_completions_endpoint(llm_served):
    api = client(llm_served)
    reply = await api.completions.create(model="teacher-lm", prompt="The capital of France is", max_tokens=5,
                                         temperature=0, logprobs=3)
    choice = reply.choices[0]
    assert choice.finish_reason in ("length", "stop") and reply.usage.completion_tokens <= 5
    assert "".join(choice.logprobs.tokens) == choice.text
    assert all(len(top) == 3 for top in choice.logprobs.top_logprobs)
    streamed = await api.completions.create(model="teacher-lm", prompt="The capital of France is", max_tokens=5,
                                            temperature=0, stream=True)
    assert "".join([c.choices[0].text async for c in streamed if c.choices]) == choice.text


async def test_errors_are_openai_error_objects(llm_served, store):
    api = client(llm_served)
    with pytest.raises(openai.AuthenticationError) as unauthenticated:
        await client(llm_served, "dk-not-a-key").chat.completions.create(model="teacher-lm", messages=PROMPT)
    assert "unknown or revoked API key" in unauthenticated.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        await api.chat.completions.create(model="no-such-model", messages=PROMPT)
    assert "teacher-lm" in missing.value.message  # says what is served
    with pytest.raises(openai.BadRequestError) as too_many:
        await api.chat.completions.create(model="teacher-lm", messages=PROMPT, logprobs=True, top_logprobs=21)
    assert too_many.value.body["param"] == "top_logprobs"
    long_prompt = [{"role": "user", "content": "harbor " * 3000}]
    with pytest.raises(openai.BadRequestError) as too_long:
        await api.chat.completions.create(model="teacher-lm", messages=long_prompt, max_tokens=4)
    assert "context" in too_long.value.message
    with pytest.raises(openai.BadRequestError):
        await api.chat.completions.create(model="teacher-lm", messages=[])
    # A key with a quota of 60 tokens a minute: the first request spends it, the next waits.
    small = llm_served["keys"].create("llm-small-quota", tpm=60)
    await client(llm_served, small).chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=30,
                                                            temperature=0)
    with pytest.raises(openai.RateLimitError) as limited:
        await client(llm_served, small).chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=4)
    assert int(limited.value.response.headers["retry-after"]) >= 1
    assert "tokens per minute" in limited.value.message


async def test_blocked_client_gets_403(llm_served):
    from shared.events import AbuseAlert, DetectorFinding, utcnow

    key = llm_served["keys"].create("llm-blocked")
    await llm_served["access"].on_alert(AbuseAlert(
        alert_id="alert-llm-1", client_ids=["llm-blocked"], severity="critical", score=0.99, status="open",
        findings=[DetectorFinding(detector="test", score=0.99)], window_start=utcnow(), window_end=utcnow(),
        model="teacher-lm"))
    with pytest.raises(openai.PermissionDeniedError) as blocked:
        await client(llm_served, key).chat.completions.create(model="teacher-lm", messages=PROMPT)
    assert "blocked" in blocked.value.message


async def test_full_queue_refuses_with_429(llm_served):
    api = client(llm_served)
    eng = engine(llm_served)
    streams = [await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=400, temperature=1.0,
                                                 stream=True, extra_body={"ignore_eos": True}) for _ in range(4)]
    await wait_for(lambda: eng.stats.running == 4)
    # 4 running, 6 waiting at most: these fill the queue.
    waiting = [asyncio.ensure_future(api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=2))
               for _ in range(6)]
    await wait_for(lambda: eng.waiting.qsize() == 6)
    with pytest.raises(openai.RateLimitError) as full:
        await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=2)
    assert "queue" in full.value.message
    for stream in streams:
        await stream.close()
    await asyncio.gather(*waiting)


async def test_client_leaving_mid_stream_frees_its_slot(llm_served):
    eng = engine(llm_served)
    await wait_for(lambda: eng.in_flight == 0)
    before = eng.stats.generated_tokens  # the module's earlier tests generated these
    api = client(llm_served)
    stream = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=1500, temperature=1.0,
                                               stream=True)
    got = 0
    async for _chunk in stream:
        got += 1
        if got == 3:
            break
    await stream.close()
    await wait_for(lambda: eng.in_flight == 0)  # long before 1,500 tokens
    assert eng.stats.generated_tokens - before < 1500


async def test_each_generation_is_published_with_what_the_detector_reads_of_its_prompt(llm_served, stack):
    from cli.jobs import read_topic
    from shared.events import InferenceGeneration

    events = llm_served["events"]
    before = events.published
    question = "Think it through step by step: why does a veterinarian listen to a horse's heart?"
    await client(llm_served).chat.completions.create(
        model="teacher-lm", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": question}],
        max_tokens=3, temperature=0, logprobs=True, top_logprobs=20)
    # A harvester may ask for the reasoning once, in its system prompt, for every request.
    plain = "Why do cats purr?"
    await client(llm_served).chat.completions.create(
        model="teacher-lm", messages=[{"role": "system", "content": "Always give your rationale first."},
                                      {"role": "user", "content": plain}], max_tokens=3, temperature=0)
    await wait_for(lambda: events.published > before + 1)
    published = await read_topic("inference.generations", InferenceGeneration, kafka=stack.config.kafka(),
                                 until=lambda seen: sum(e.reasoning_cue and e.client_id == "llm-client"
                                                        for e in seen) >= 2)
    event = next(e for e in published if e.reasoning_cue and e.client_id == "llm-client" and e.top_logprobs)
    assert event.top_logprobs == 20 and event.messages == 2 and event.system_prompt
    assert any(e.reasoning_cue and e.text_chars == len(plain) for e in published)
    # The prompt's topics (its rarest nouns' first: the veterinarian, the horse), never its words.
    assert {"person", "animal"} <= set(event.prompt_topics) and event.text_chars == len(question)


async def test_a_continuation_of_an_answer_cut_short_is_published_as_one(llm_served, stack):
    """A harvester reading answers a few tokens at a time sends each back to be continued: the
    answer's event carries its tail's hash, and the continuing request's event the same hash
    (whether the answer is continued as a prompt or as a chat's last assistant message)."""
    from cli.jobs import read_topic
    from shared.events import InferenceGeneration

    api = client(llm_served)
    prompt = "The cat sat on the mat because"
    first = await api.completions.create(model="teacher-lm", prompt=prompt, max_tokens=6, temperature=0, logprobs=20)
    assert first.choices[0].finish_reason == "length"
    more = await api.completions.create(model="teacher-lm", prompt=prompt + first.choices[0].text, max_tokens=6,
                                        temperature=0, logprobs=20)
    question = [{"role": "user", "content": "Describe a lighthouse."}]
    cut = await api.chat.completions.create(model="teacher-lm", messages=question, max_tokens=6, temperature=0)
    on = await api.chat.completions.create(
        model="teacher-lm", temperature=0, max_tokens=6, messages=[
            *question, {"role": "assistant", "content": cut.choices[0].message.content},
            {"role": "user", "content": "Go on."}])
    unrelated = await api.completions.create(model="teacher-lm", prompt="Lighthouses are", max_tokens=6, temperature=0)
    ids = {r.id.split("-", 1)[1] for r in (first, more, cut, on, unrelated)}
    published = await read_topic("inference.generations", InferenceGeneration, kafka=stack.config.kafka(),
                                 until=lambda seen: ids <= {e.request_id for e in seen})
    event = {e.request_id: e for e in published if e.request_id in ids}
    first_e, more_e, cut_e, on_e, unrelated_e = (event[r.id.split("-", 1)[1]] for r in (first, more, cut, on, unrelated))
    assert len(first_e.answer_tails) == 1 and set(first_e.answer_tails) & set(more_e.prompt_tails)
    assert len(cut_e.answer_tails) == 1 and set(cut_e.answer_tails) & set(on_e.prompt_tails)
    assert not set(first_e.answer_tails + cut_e.answer_tails) & set(unrelated_e.prompt_tails)


async def test_a_new_version_swaps_in_without_breaking_a_stream_in_flight(llm_served):
    api = client(llm_served)
    repository, registry = llm_served["repository"], llm_served["registry"]
    before = repository.serving["teacher-lm"]
    stream = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=120, temperature=0,
                                               stream=True, stream_options={"include_usage": True},
                                               extra_body={"ignore_eos": True})
    chunks = [await stream.__anext__() for _ in range(3)]
    version, _ = await asyncio.to_thread(registry.register, "teacher-lm", llm_served["model_dir"])
    await repository.load("teacher-lm", version)
    assert repository.serving["teacher-lm"] == version != before
    chunks += [chunk async for chunk in stream]
    assert chunks[-1].usage.completion_tokens == 120  # the stream finished on the version it started with
    assert {c.system_fingerprint for c in chunks} == {f"teacher-lm-v{before}"}
    after = await api.chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=2)
    assert after.system_fingerprint == f"teacher-lm-v{version}"


async def test_a_chat_is_traced_as_a_child_of_the_callers_span(llm_served):
    from opentelemetry import propagate
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from shared.telemetry import tracer, tracer_provider

    exporter = InMemorySpanExporter()
    tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    with tracer("test.caller").start_as_current_span("caller") as caller:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        await client(llm_served).chat.completions.create(model="teacher-lm", messages=PROMPT, max_tokens=3,
                                                         temperature=0, extra_headers=headers)
    exporter.shutdown()
    (span,) = [s for s in exporter.get_finished_spans() if s.name == "chat.completions"]
    assert span.context.trace_id == caller.get_span_context().trace_id
    assert span.attributes["gen_ai.usage.output_tokens"] == 3 and span.attributes["client_id"] == "llm-client"


# ---- tritonclient, Triton's LLM convention -----------------------------------------------------------

async def triton(served, calls: list[dict], key: str | None = None) -> list[dict]:
    from tests.test_inference_triton import triton_calls

    return await triton_calls({"url": served["grpc_url"], "key": served["key"]}, calls, key)


async def test_tritonclient_sees_a_streaming_text_model(llm_served):
    config, meta = await triton(llm_served, [{"call": "model_config", "model": "teacher-lm"},
                                             {"call": "model_metadata", "model": "teacher-lm"}])
    config = config["value"]["config"]
    assert config["model_transaction_policy"]["decoupled"] is True
    assert config["input"][0]["name"] == "text_input" and config["output"][0]["name"] == "text_output"
    assert any(i["name"] == "max_tokens" and i["optional"] for i in config["input"])
    assert [(i["name"], i["datatype"]) for i in meta["value"]["inputs"]] == [("text_input", "BYTES")]


async def test_tritonclient_infer_and_stream_infer(llm_served):
    prompt = "The capital of France is"
    reference = await client(llm_served).completions.create(model="teacher-lm", prompt=prompt, max_tokens=8,
                                                            temperature=0)
    expected = reference.choices[0].text
    settings = {"max_tokens": 8, "temperature": 0.0}
    alone, whole, streamed = await triton(llm_served, [
        {"call": "generate", "model": "teacher-lm", "prompt": prompt,
         "parameters": {**settings, "exclude_input_in_output": True}},
        {"call": "generate", "model": "teacher-lm", "prompt": prompt, "parameters": settings},
        {"call": "generate_stream", "model": "teacher-lm", "prompts": [prompt, "A harbor is"], "parameters": settings},
    ])
    assert alone["ok"] and alone["text"] == expected
    assert alone["parameters"]["completion_tokens"] == reference.usage.completion_tokens
    assert alone["parameters"]["finish_reason"] == reference.choices[0].finish_reason
    assert whole["text"] == prompt + expected  # Triton's default: the prompt, then its completion
    assert streamed["errors"] == []
    assert "".join(streamed["pieces"]["r0"]) == expected and len(streamed["pieces"]["r0"]) > 1
    assert set(streamed["final"]) == {"r0", "r1"}


async def test_tritonclient_errors(llm_served):
    bad_input, bad_setting, bad_key = await triton(llm_served, [
        {"call": "infer", "model": "teacher-lm", "texts": ["hello"]},  # the classifier's input name
        {"call": "generate", "model": "teacher-lm", "prompt": "hi", "parameters": {"temperature": 5.0}},
        {"call": "generate", "model": "teacher-lm", "prompt": "hi", "auth": False},
    ])
    assert bad_input["status"] == "StatusCode.INVALID_ARGUMENT" and "text_input" in bad_input["message"]
    assert bad_setting["status"] == "StatusCode.INVALID_ARGUMENT" and "temperature" in bad_setting["message"]
    assert bad_key["status"] == "StatusCode.UNAUTHENTICATED"
