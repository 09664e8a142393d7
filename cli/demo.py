"""`make demo`: the platform end to end on the embedded stack, as a new user would see it."""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import tempfile
import time
from pathlib import Path

from cli.served import chat_answers, direct_throughput, heldout_texts, served_point, stream_chat, wait_for_model
from cli.simulator import seed_reference
from shared.keys import Enforcement, EnforcementStore, KeyStore
from shared.oip import OipClient, labels_from_response, scores_from_response
from shared.registry import ModelRegistry
from shared.settings import S3Settings
from shared.store import ArtifactStore


def heading(text: str) -> None:
    print(f"\n== {text}", flush=True)


def run_demo(job_file: Path, chat_job_file: Path, cache: Path, flows: str = "chat") -> int:
    """`flows`: "chat" (the chat model's distillation, serving and protection: the default, as both
    flows do not fit 10 minutes on 2 CPUs), "classifier" (the classifier's job, detection and
    watermark ledger) or "both"."""
    from cli.__main__ import cmd_stack_up
    from cli.stack import EmbeddedStack

    started = time.monotonic()
    heading("1. the embedded stack and the five services")
    cmd_stack_up(argparse.Namespace(cache=str(cache), infra_only=False, classifier_teacher=flows != "chat"))
    url = f"127.0.0.1:{EmbeddedStack().config.inference_port}"
    code = asyncio.run(classifier_flow(job_file, url)) if flows != "chat" else 0
    if code == 0 and flows != "classifier":
        code = asyncio.run(chat_flow(chat_job_file, 2 if flows == "chat" else 9))
    if code == 0:
        print(f"\ndemo finished in {time.monotonic() - started:.0f} s; the stack is still up (`make down` stops it)")
    return code


async def classifier_flow(job_file: Path, url: str) -> int:
    """The classifier path: the distillation job, the student served and its speed-up as a client gets
    it, simulated traffic with one extracting client, its alerts and enforcement, the watermark ledger."""
    from cli.jobs import format_alert, read_alerts, submit_and_follow
    from cli.traffic import run_traffic

    heading(f"2. distillation job {job_file}")
    job, follower = await submit_and_follow(job_file, wait=True)
    if follower.failed or follower.trained is None:
        print("the job did not finish; see .distillery/logs/")
        return 1
    teacher = follower.last("teacher")
    curator = follower.last("curator")
    trained = follower.trained
    m = trained.metrics
    heading("3. result")
    tc = teacher.counts if teacher else {}
    print(f"teacher queries made:   {int(tc.get('queries', 0))} gRPC requests for {int(tc.get('prompts', 0))} prompts "
          f"({int(tc.get('answered', 0))} answered, {int(tc.get('cached', 0))} from the cache, "
          f"{int(tc.get('failed', 0))} failed)")
    if curator:
        kept = {k[5:]: int(v) for k, v in curator.counts.items() if k.startswith("kept_")}
        dropped = {k[8:]: int(v) for k, v in curator.counts.items() if k.startswith("dropped_")}
        print(f"dataset rows kept:      {sum(kept.values())} ({', '.join(f'{k} {v}' for k, v in kept.items())})")
        print(f"dataset rows dropped:   {sum(dropped.values())} "
              f"({', '.join(f'{k} {v}' for k, v in dropped.items()) or 'none'})")
    print(f"student agreement:      {m.agreement:.3f} with the teacher on {m.test_rows} test texts "
          f"(KL {m.kl_to_teacher:.3f})")
    if m.relative_accuracy is not None:
        print(f"gold accuracy:          student {m.gold_accuracy:.3f}, teacher {m.teacher_gold_accuracy:.3f} on the same "
              f"{m.gold_rows} test texts: the student keeps {m.relative_accuracy:.1%} of the teacher's accuracy")
    print(f"model-only speed-up:    {m.speedup:.1f}x ({m.student_texts_per_s:.0f} vs {m.teacher_texts_per_s:.0f} "
          f"texts/s, onnxruntime in the trainer; step 5 measures it as served)")
    print(f"ONNX parity:            max abs difference {m.parity_max_abs_diff:.1e}")
    if not trained.gate_passed:
        print(f"student NOT promoted:   {'; '.join(trained.gate_reasons)}")
        return 1
    print(f"promoted:               {trained.model_name} version {trained.version} ({trained.uri}); "
          f"model card: {trained.uri}/card.md, training curves: {trained.uri}/training.png")

    # What an operator does once per model (`distillery detector reference FILE`): vouch for a sample
    # of ordinary traffic, so that the detector's tests are calibrated from the start. Here the
    # sample is the traffic simulator's ordinary clients, answered by the promoted student.
    with tempfile.TemporaryDirectory() as tmp:
        store = ArtifactStore(S3Settings())
        folder = await asyncio.to_thread(ModelRegistry(store).download, trained.model_name, trained.version,
                                         Path(tmp) / "student")
        windows = await asyncio.to_thread(seed_reference, store, trained.model_name, folder, 300)
    print(f"detector reference:     {windows} windows of 300 ordinary clients' traffic seed the benign reference "
          f"of {trained.model_name}")

    heading("4. the promoted student answering over gRPC")
    key = await asyncio.to_thread(KeyStore(ArtifactStore(S3Settings())).create, "demo-user")
    texts = ["a large cat of the Old World with a tawny mane", "to move quickly on foot across the ground"]
    async with OipClient(url, api_key=key) as client:
        for _ in range(100):  # every replica loads a promotion within moments of model.promoted
            try:
                response = await client.infer(trained.model_name, texts, version=trained.version)
                break
            except Exception:
                await asyncio.sleep(0.2)
        else:
            print("the inference service did not load the promoted student")
            return 1
    # An ordinary key sees the label and its score; the whole vector is a scope an operator grants.
    for text, label, p in zip(texts, labels_from_response(response), scores_from_response(response)):
        print(f"  {trained.model_name} v{response.model_version}: {text!r} -> {label} ({p:.2f})")

    heading("5. the speed-up as a client gets it")
    # Through the API (gRPC, 64 texts a request, 4 callers) and, in the same run, each model called
    # directly (onnxruntime in this process, 64 texts a call): served first, the model alone beside it.
    # The platform's own key (allow-listed in the detector): thousands of texts from all over the
    # domain are what an extractor sends, and the detector would rightly say so.
    from cli.stack import EmbeddedStack

    own_key = (EmbeddedStack().run_dir / "teacher-service.key").read_text().strip()
    teacher_model = job.teacher.model if job.teacher.kind == "oip" else None
    if teacher_model:
        texts = heldout_texts(2000)
        # 4 connections, as a client with several would spread over the serving processes.
        served = {name: (await served_point(url, own_key, name, texts, 64, 4, seconds=4.0, channels=4))["texts_per_s"]
                  for name in (trained.model_name, teacher_model)}
        with tempfile.TemporaryDirectory() as tmp:
            registry = ModelRegistry(ArtifactStore(S3Settings()))
            direct = {}
            for name, version in ((trained.model_name, trained.version), (teacher_model, registry.promoted(teacher_model))):
                assert version is not None  # the teacher is served, so promoted
                folder = await asyncio.to_thread(registry.download, name, version, Path(tmp) / name)
                direct[name] = await asyncio.to_thread(direct_throughput, folder, texts, 64, 3.0)
        s, t = served[trained.model_name], served[teacher_model]
        print(f"served speed-up:        {s / t:.1f}x (student {s:.0f} vs teacher {t:.0f} texts/s through the API, "
              f"64 texts a request)")
        print(f"the models alone:       {direct[trained.model_name] / direct[teacher_model]:.1f}x "
              f"({direct[trained.model_name]:.0f} vs {direct[teacher_model]:.0f} texts/s, onnxruntime in this "
              f"process); served / direct: student {s / direct[trained.model_name]:.2f}, teacher "
              f"{t / direct[teacher_model]:.2f}")

    heading("6. traffic: ordinary clients and one extracting client")
    # A new account each run: one blocked in an earlier run on this stack stays blocked.
    extractor = f"acct-{random.randrange(1000, 10000)}"
    for line in await run_traffic(url, model=trained.model_name, extractor_name=extractor):
        print(f"  {line}")
    heading("7. abuse.alerts")
    # Until the extractor is named at a severity the policy enforces (watch first, then throttle).
    alerts = await read_alerts(idle_timeout_s=30.0, printer=None,
                               until=lambda seen: any(extractor in a.client_ids and a.severity != "low" for a in seen))
    for alert in alerts:
        print(f"  {format_alert(alert)}")
    named = [a for a in alerts if extractor in a.client_ids]
    others = sorted({c for a in alerts for c in a.client_ids if c != extractor})
    if not named:
        print(f"no alert named {extractor}")
        return 1
    print(f"\nthe extracting client {extractor} was named in {len(named)} alert(s); ordinary clients alerted on: "
          f"{', '.join(others) or 'none'}")
    await enforcement_of(extractor)  # the inference service applies the alert as it arrives
    for record in EnforcementStore(ArtifactStore(S3Settings())).all().values():
        if record.client_id == extractor or record.client_id in others:
            print(enforcement_line(record))
    heading("8. the watermark ledger")
    await asyncio.sleep(6.0)  # the inference service writes the ledger every 5 s
    from shared.watermark import WatermarkKeySettings, parse_keys, read_ledger

    keys = parse_keys(WatermarkKeySettings().keys.get_secret_value())
    entries, _ = await asyncio.to_thread(read_ledger, ArtifactStore(S3Settings()), keys, extractor)
    print(f"  {extractor} got {len(entries)} watermarked answers (0.5% of inputs, 5% once alerted), recorded in "
          f"the store under watermark/ledger/{extractor}/.\n  A model distilled from its answers would be named by "
          f"`distillery verify --onnx MODEL_FOLDER --client {extractor}` (see the README).")
    return 0


async def chat_flow(job_file: Path, number: int) -> int:
    """The generative path: teacher-lm answers through our OpenAI-compatible API -> curated completions
    with their top-k logprobs -> a chat student trained, exported, promoted and served beside it,
    compared with it through the same API. `number` is the first step's number."""
    from cli.__main__ import ensure_service_key
    from cli.jobs import submit_and_follow
    from cli.stack import EmbeddedStack
    from shared.datasets import read_split
    from shared.textmetrics import rouge_l

    stack = EmbeddedStack()
    store = ArtifactStore(S3Settings())
    key = await asyncio.to_thread(KeyStore(store).create, "demo-chat-user")
    heading(f"{number}. teacher-lm: a chat model through the OpenAI SDK")
    if not await chat_through_openai_sdk(key, "teacher-lm"):
        return 1
    heading(f"{number + 1}. distilling it: job {job_file}")
    job, follower = await submit_and_follow(job_file, wait=True)
    if follower.failed or follower.trained is None:
        print("the job did not finish; see .distillery/logs/")
        return 1
    teacher, curator, trained = follower.last("teacher"), follower.last("curator"), follower.trained
    tc = teacher.counts if teacher else {}
    print(f"teacher answers:        {int(tc.get('answered', 0))} asked of {job.teacher.model} through {job.teacher.url} "
          f"with top {job.teacher.top_logprobs} logprobs, {int(tc.get('cached', 0))} from the cache")
    if curator:
        kept = {k[5:]: int(v) for k, v in curator.counts.items() if k.startswith("kept_")}
        dropped = {k[8:]: int(v) for k, v in curator.counts.items() if k.startswith("dropped_")}
        print(f"dataset rows kept:      {sum(kept.values())} ({', '.join(f'{k} {v}' for k, v in kept.items())}), "
              f"split by lemma; dropped {sum(dropped.values())} "
              f"({', '.join(f'{k} {v}' for k, v in dropped.items()) or 'none'})")
    m = trained.metrics
    card = await asyncio.to_thread(ModelRegistry(store).card, trained.model_name, trained.version)
    print(f"student:                {len(card['teacher_layers_kept'])} of the teacher's 30 layers "
          f"{card['teacher_layers_kept']}, {job.student.epochs} epochs of {job.student.lm_loss}; next-token "
          f"agreement {m.agreement:.3f} with the teacher (KL {m.kl_to_teacher:.3f}), ONNX parity "
          f"{m.parity_max_abs_diff:.1e}")
    if not trained.gate_passed:
        print(f"student NOT promoted:   {'; '.join(trained.gate_reasons)}")
        return 1
    print(f"promoted:               {trained.model_name} version {trained.version}; model card {trained.uri}/card.md")

    heading(f"{number + 2}. the chat student beside its teacher, through the same API")
    if not await chat_through_openai_sdk(key, trained.model_name, wait_s=120):
        return 1
    # Both models answer the held-out prompts (lemmas the student never saw), 8 callers, greedy: what
    # a client gets, measured in one run. The platform's own key: the detector allow-lists it.
    own_key = ensure_service_key(stack)
    heldout = [{"id": r["prompt_id"], "text": r["text"], "gloss": r["gold_label"]}
               for r in (await asyncio.to_thread(read_split, store, card["lineage"]["dataset"], "test")).to_pylist()]
    base_url = f"http://127.0.0.1:{stack.config.inference_http_port}/v1"
    served = {model: await chat_answers(base_url, own_key, model, heldout, 8, job.student.max_new_tokens, wait_s=120)
              for model in (trained.model_name, job.teacher.model)}
    student, teacher_served = served[trained.model_name], served[job.teacher.model]
    gold = {model: sum(rouge_l(got["answers"][p["id"]], p["gloss"]) for p in heldout) / len(heldout)
            for model, got in served.items()}
    s, t = student["tokens_per_s"], teacher_served["tokens_per_s"]
    print(f"served speed-up:        {s / t:.1f}x ({s:.0f} vs {t:.0f} output tokens/s through the API, 8 callers, "
          f"{len(heldout)} held-out prompts; the models alone in the trainer: {m.speedup:.1f}x)")
    print(f"quality:                ROUGE-L against WordNet's gloss {gold[trained.model_name]:.3f} for the student, "
          f"{gold[job.teacher.model]:.3f} for the teacher: {gold[trained.model_name] / max(1e-9, gold[job.teacher.model]):.0%} "
          f"of it (a demo-sized run: {sum(kept.values()) if curator else '?'} answers; benchmarks/llm_distillation "
          f"runs it at scale)")
    return await chat_extraction(number + 3, job_file, base_url, own_key, trained.model_name)


THIEF_WORDS = slice(400, 480)  # nouns the demo's job never asked: a thief's own list


def thief_job(job_file: Path, folder: Path, thief: str, key_env: str, base_url: str) -> dict:
    """The thief's job, written to `folder`: our own job's recipe with its key and its words. Its
    model is the thief's: the gate never lets us promote (serve) it."""
    import gzip
    import json

    import yaml

    from cli.simulator import DATA

    with gzip.open(DATA / "definitions.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [row for row in map(json.loads, f) if row["pos"] == "noun"][THIEF_WORDS]
    (folder / "nouns.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ours = yaml.safe_load(job_file.read_text())
    spec = {**ours, "name": f"{thief}-definitions",
            "prompts": {**ours["prompts"], "file": str(folder / "nouns.jsonl"), "limit": len(rows)},
            "teacher": {**ours["teacher"], "url": base_url, "api_key_env": key_env},
            "student": {**ours["student"], "name": f"{thief}-student"}, "gate": {"min_agreement": 1.0}}
    (folder / "job.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return spec


async def chat_extraction(number: int, job_file: Path, base_url: str, own_key: str, student: str) -> int:
    """The other side: someone distils teacher-lm through an ordinary key with Distillery itself (it is
    open): its teacher service asks our API for definitions with their top-20 logprobs, its trainer
    makes a student by the recipe of ours. The detector alerts on the traffic and the inference
    service throttles it (chat alerts are capped at throttle: docs/BENCHMARKS.md says why); the
    answers it took carry our watermark, and `distillery verify` names them, and its student by
    reading them; our own student, distilled through the allow-listed key, reads them at chance."""
    import json
    import subprocess
    import sys

    from cli.__main__ import services_env
    from cli.jobs import read_alerts, submit_and_follow
    from cli.stack import EmbeddedStack
    from shared.datasets import read_split

    heading(f"{number}. a chat extraction: teacher-lm distilled through an ordinary key")
    # A new account each run, as the classifier flow's extractor: a re-run on the same stack must
    # not find the last run's alert and enforcement record and report them as this one's.
    thief = f"chat-{random.randrange(1000, 10000)}"
    store = ArtifactStore(S3Settings())
    key = await asyncio.to_thread(KeyStore(store).create, thief)
    # On this one machine the thief's Distillery is ours: the teacher service is given its key, as the
    # thief's own deployment would be. A variable per account, because the response cache is kept
    # per account: a re-run asks our API again instead of reading the last thief's answers.
    key_env = f"{thief.upper().replace('-', '_')}_API_KEY"
    stack = EmbeddedStack()
    await asyncio.to_thread(stack.restart, "teacher", {**services_env(stack, own_key), key_env: key})
    # The thief's job, what it took, both students and the verify reports: in the stack's home, for the
    # operator to read afterwards, and replaced by the next run (the students are ~0.5 GB).
    folder = (stack.config.home / "demo-thief").resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spec = await asyncio.to_thread(thief_job, job_file, folder, thief, key_env, base_url)
    print(f"{thief} runs Distillery's own pipeline on {spec['prompts']['limit']} nouns of its choosing: our job's "
          f"recipe (top-20 logprobs, 8 at a time; {spec['student']['layers']} layers, {spec['student']['epochs']} "
          f"epochs of {spec['student']['lm_loss']}), its own key")
    _, follower = await submit_and_follow(folder / "job.yaml", wait=True)
    if follower.trained is None:
        print("the thief's job did not finish; see .distillery/logs/")
        return 1
    teacher, curator = follower.last("teacher"), follower.last("curator")
    tc, train_rows = (teacher.counts if teacher else {}), int(curator.counts.get("kept_train", 0) if curator else 0)
    print(f"{thief}: {int(tc.get('answered', 0))} definitions taken from teacher-lm; {int(tc.get('rate_limited', 0))} of "
          f"its {int(tc.get('queries', 0))} requests refused by the throttle, {int(tc.get('failed', 0))} prompts given "
          f"up; its student {follower.trained.model_name} v{follower.trained.version} trained on {train_rows} of them")
    # Until the thief is named at a severity the policy enforces (watch first, then throttle).
    alerts = await read_alerts(idle_timeout_s=120, printer=lambda _: None,
                               until=lambda seen: any(thief in a.client_ids and a.severity != "low" for a in seen))
    named = [a for a in alerts if thief in a.client_ids]
    if not named:
        print(f"no alert on {thief} (see .distillery/logs/detector.log)")
        return 1
    for alert in named:
        print(f"alert {alert.status + ':':<19}{alert.severity}, score {alert.score:.2f} after "
              f"{sum(alert.queries.values())} requests: " + ", ".join(
                  f"{f.detector} (p {f.evidence['p_value']})" if "p_value" in f.evidence else f.detector
                  for f in alert.findings))
    print(await throttled(thief, key, base_url))

    # What the thief took, as the operator finds it (here from its dataset; in earnest, from a leak, a
    # published model's training data, or its answers quoted elsewhere).
    registry, stolen = ModelRegistry(store), follower.trained
    card = await asyncio.to_thread(registry.card, stolen.model_name, stolen.version)
    dataset = card["lineage"]["dataset"]
    taken = [{"prompt": r["text"], "completion": r["completion"]} for split in ("train", "val", "test")
             for r in (await asyncio.to_thread(read_split, store, dataset, split)).to_pylist()]
    (folder / "taken.jsonl").write_text("".join(json.dumps(t) + "\n" for t in taken), encoding="utf-8")
    ours_version = registry.promoted(student)
    assert ours_version is not None  # promoted in the step before
    thief_model = await asyncio.to_thread(registry.download, stolen.model_name, stolen.version, folder / "thief-student")
    own_model = await asyncio.to_thread(registry.download, student, ours_version, folder / "own-student")
    checks = [("the answers it took", ["--text", str(folder / "taken.jsonl")]),
              ("its student, fed the answers it took", ["--onnx", str(thief_model), "--read", str(folder / "taken.jsonl")]),
              (f"our own student ({student}, distilled through the platform's allow-listed key), fed the same",
               ["--onnx", str(own_model), "--read", str(folder / "taken.jsonl")])]
    for i, (what, arguments) in enumerate(checks):
        command = [sys.executable, "-m", "cli", "verify", *arguments, "--out", str(folder / f"report-{i}")]
        print(f"\n$ distillery verify {' '.join(arguments)}    # {what}")
        done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
        print("\n".join("  " + line for line in (done.stdout + done.stderr).strip().splitlines()))
        if done.returncode:
            return 1
    print(f"\nThe thief's job, what it took and the three reports are in {folder}/.")
    print(f"The throttle held {thief} to {len(taken)} answers: the watermark names them, but a student trained on "
          f"{train_rows} answers\nmay learn too little of it to be named by reading (docs/BENCHMARKS.md: the same "
          f"thief at 4,000 answers is).")
    return 0


def enforcement_line(record: Enforcement) -> str:
    done = {"throttle": "throttled", "block": "blocked"}[record.action]
    return (f"enforcement: {record.client_id} {done} after alert {record.alert_id} ({record.severity}); "
            f"`distillery enforcement lift {record.client_id}` reverses it")


async def enforcement_of(client_id: str, wait_s: float = 60.0) -> Enforcement | None:
    """The client's enforcement record, waited for: the inference service applies alerts as they arrive."""
    store, deadline = EnforcementStore(ArtifactStore(S3Settings())), time.monotonic() + wait_s
    while (record := (await asyncio.to_thread(store.all)).get(client_id)) is None and time.monotonic() < deadline:
        await asyncio.sleep(1.0)
    return record


async def throttled(client_id: str, key: str, base_url: str) -> str:
    """What the inference service did with a client's alert: its enforcement record, and what the
    client's next requests get."""
    import openai

    record = await enforcement_of(client_id)
    if record is None:
        return f"enforcement: none on {client_id} (its alerts stayed at watch)"
    lines = [enforcement_line(record)]
    # A throttled client keeps a request a second (throttle_rps): a burst of four meets the limit.
    api = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    try:
        for attempt in range(4):
            try:
                await api.chat.completions.create(model="teacher-lm", max_tokens=1,
                                                  messages=[{"role": "user", "content": "Define the word 'oak'."}])
            except openai.APIStatusError as exc:
                said = exc.body.get("message") if isinstance(exc.body, dict) else None  # our API's error object
                lines.append(f"its request {attempt + 1} of a burst of 4: HTTP {exc.status_code}: {said or exc.message}")
                break
        else:
            lines.append("a burst of 4 requests all went through")
    finally:
        await api.close()
    return "\n".join(lines)


async def chat_through_openai_sdk(key: str, model: str, wait_s: float = 0.0) -> bool:
    """A streamed chat, as any OpenAI SDK user writes it, with its usage. With `wait_s`, a model the
    inference service is still loading (just promoted) is waited for that long."""
    import openai

    from cli.stack import EmbeddedStack

    base_url = f"http://127.0.0.1:{EmbeddedStack().config.inference_http_port}/v1"
    client = openai.AsyncOpenAI(base_url=base_url, api_key=key)
    question = "Define the word 'harbor' in one sentence."
    print(f"  openai.AsyncOpenAI(base_url={base_url!r}).chat.completions.create(model={model!r}, stream=True)")
    try:
        await wait_for_model(client, model, wait_s)
        print(f"  user: {question}\n  {model}: ", end="", flush=True)
        reply = await stream_chat(client, model, [{"role": "user", "content": question}], 80,
                                  on_text=lambda text: print(text, end="", flush=True))
    except openai.APIError as exc:
        print(f"\nthe OpenAI-compatible API failed: {exc}")
        return False
    finally:
        await client.close()
    print()
    usage, first = reply.usage, reply.ttft_s
    if usage is None or first is None:
        print("no usage or no tokens came back")
        return False
    rate = (usage.completion_tokens - 1) / max(1e-9, reply.seconds - first)
    print(f"  usage: {usage.prompt_tokens} prompt + {usage.completion_tokens} completion = {usage.total_tokens} tokens; "
          f"first token after {1000 * first:.0f} ms, then {rate:.1f} tokens/s")
    return True
