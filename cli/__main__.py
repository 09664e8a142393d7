"""distillery: the command line for people. Run `distillery --help`."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

from cli.stack import TEACHER_CLIENT


def _store():
    from shared.settings import S3Settings
    from shared.store import ArtifactStore

    return ArtifactStore(S3Settings())


def _stack():
    from cli.stack import EmbeddedStack

    return EmbeddedStack()


def _use_stack_env(stack) -> None:
    """Commands run next to `make up` find the embedded stack without further settings."""
    for key, value in stack.env().items():
        os.environ.setdefault(key, value)


def cmd_stack_up(args) -> None:
    from cli.stack import StackError

    stack = _stack()
    try:
        stack.start_infra()
        _use_stack_env(stack)
        print(f"broker  kafka://{stack.config.host}:{stack.config.kafka_port} (Tansu, memory storage)")
        print(f"store   http://{stack.config.s3().endpoint} bucket {stack.config.s3().bucket} (SeaweedFS S3)")
        # The chat-only demo has no use for the classifier's teacher, so a fresh machine skips its build.
        if getattr(args, "classifier_teacher", True):
            ensure_teacher_served(Path(args.cache))
        ensure_teacher_lm_served(Path(args.cache))
        key = ensure_service_key(stack)
        if args.infra_only:
            return
        stack.start_services(extra_env=services_env(stack, key))
        stack.wait_services()
    except StackError as exc:
        sys.exit(f"distillery: {exc}")
    for name, pid in stack.running().items():
        where = {"inference": (f"gRPC :{stack.config.inference_port} (OIP), HTTP :{stack.config.inference_http_port} "
                               f"(OpenAI), metrics :{stack.config.inference_metrics_port}"),
                 "tansu": f"kafka {stack.config.host}:{stack.config.kafka_port}",
                 "weed": f"s3 {stack.config.host}:{stack.config.s3_port}"}.get(name, "Kafka consumer")
        print(f"{name:10s} pid {pid:<7d} {where:55s} log {stack.log_dir / (name + '.log')}")
    print("stack is up; `make down` stops it")


def services_env(stack, key: str) -> dict[str, str]:
    """What the local stack's services are started with beside the stack's own settings: the teacher
    service's key and default teacher, the detector's allow-list of that key."""
    # One serving process per CPU, as the Deployment runs one per CPU it requests.
    return {"TEACHER_API_KEY": key, "TEACHER_URL": f"127.0.0.1:{stack.config.inference_port}",
            "DETECTOR_ALLOW_CLIENTS": TEACHER_CLIENT, "INFERENCE_PROCESSES": "0"}


def ensure_teacher_served(cache: Path) -> None:
    """The default teacher model, built once and registered as `teacher` if the registry lacks it."""
    from shared.registry import ModelRegistry

    registry = ModelRegistry(_store())
    if registry.promoted("teacher"):
        return
    from services.trainer.teacher_model import ensure_teacher_model

    print("building the teacher model (MiniLM + supersense head; once, then cached in .cache/) ...", flush=True)
    model_dir = ensure_teacher_model(cache)
    version, uri = registry.register("teacher", model_dir)
    registry.promote("teacher", version)
    print(f"registered teacher version {version} at {uri}")


def ensure_teacher_lm_served(cache: Path) -> None:
    """The generative teacher, built once and registered as `teacher-lm` if the registry lacks it."""
    from shared.registry import ModelRegistry

    registry = ModelRegistry(_store())
    if registry.promoted("teacher-lm"):
        return
    from services.trainer.teacher_lm import ensure_teacher_lm

    print("building teacher-lm (SmolLM2-135M-Instruct to ONNX with its KV cache; once, then cached in .cache/) ...",
          flush=True)
    model_dir = ensure_teacher_lm(cache)
    version, uri = registry.register("teacher-lm", model_dir)
    registry.promote("teacher-lm", version)
    print(f"registered teacher-lm version {version} at {uri}")


def ensure_service_key(stack) -> str:
    """The teacher service's API key, kept in the stack's run folder and in the key store."""
    from shared.keys import KeyStore

    keys = KeyStore(_store())
    path = stack.run_dir / "teacher-service.key"
    record = keys.lookup(path.read_text().strip()) if path.exists() else None
    if record and "probabilities" in record.get("scopes", ()):  # keys made before scopes lack it
        return path.read_text().strip()
    key = keys.create(TEACHER_CLIENT, scopes=("probabilities",))  # the teacher service learns from the vector
    path.write_text(key)
    path.chmod(0o600)
    return key


def cmd_stack_down(args) -> None:
    stopped = _stack().down()
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def cmd_stack_status(args) -> None:
    running = _stack().running()
    for name in ("tansu", "weed", "inference", "teacher", "curator", "trainer", "detector"):
        print(f"{name:10s} {'pid ' + str(running[name]) if name in running else 'not running'}")


def cmd_teacher_model_build(args) -> None:
    from services.trainer.teacher_lm import ensure_teacher_lm
    from services.trainer.teacher_model import ensure_teacher_model

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    path = (ensure_teacher_lm if args.lm else ensure_teacher_model)(Path(args.cache))
    if args.lm and args.int8:
        from services.trainer.teacher_lm import ensure_teacher_lm_int8

        print(f"teacher-lm (fp32): {path}")
        path = ensure_teacher_lm_int8(Path(args.cache))
    print(f"teacher model: {path}")
    print((path / "card.json").read_text())
    if args.register:
        from shared.registry import ModelRegistry

        _use_stack_env(_stack())
        name = json.loads((path / "model.json").read_text())["name"]
        registry = ModelRegistry(_store())
        version, uri = registry.register(name, path)
        registry.promote(name, version)
        print(f"registered and promoted {name} version {version} at {uri} (served under its own name)")


def cmd_keys_create(args) -> None:
    from shared.keys import KeyStore

    _use_stack_env(_stack())
    key = KeyStore(_store()).create(args.name, rps=args.rps, scopes=args.scope, tpm=args.tpm)
    print(key)
    print(f"# key for {args.name!r}: shown once; send it as gRPC metadata 'authorization: Bearer <key>'",
          file=sys.stderr)


def cmd_keys_list(args) -> None:
    from shared.keys import KeyStore

    _use_stack_env(_stack())
    for record in KeyStore(_store()).list():
        quota = f"{record['rps']:g} req/s" if record.get("rps") else "default quota"
        scopes = ",".join(record.get("scopes", ())) or "label+score"
        state = f"REVOKED {record['revoked_at']}" if record.get("revoked_at") else "active"
        print(f"{record['name']:24s} created {record['created_at']}  sha256 {record['digest_prefix']}...  "
              f"{quota:14s} {scopes:14s} {state}")


def cmd_keys_revoke(args) -> None:
    from cli.access import revoke_key

    _use_stack_env(_stack())
    revoked = asyncio.run(revoke_key(_store(), args.name, args.sha256))
    if not revoked:
        sys.exit(f"no active key named {args.name!r}" + (f" with sha256 {args.sha256}..." if args.sha256 else ""))
    for record in revoked:
        print(f"revoked {record['name']} (sha256 {record['digest_prefix']}...)")


def cmd_enforcement_list(args) -> None:
    from shared.keys import EnforcementStore

    _use_stack_env(_stack())
    records = EnforcementStore(_store()).all()
    for r in records.values():
        rate = f" to {r.rps:g} req/s" if r.rps else ""
        print(f"{r.client_id:24s} {r.action}{rate} since {r.since}: alert {r.alert_id} ({r.severity}, score {r.score:.2f})")
    if not records:
        print("no client is throttled or blocked")


def cmd_enforcement_lift(args) -> None:
    from cli.access import lift_enforcement

    _use_stack_env(_stack())
    record = asyncio.run(lift_enforcement(_store(), args.client))
    if record is None:
        sys.exit(f"{args.client!r} is neither throttled nor blocked")
    print(f"lifted {record.action} of {record.client_id} (alert {record.alert_id}); this alert will not be "
          "applied to it again")


def cmd_detector_reference(args) -> None:
    from services.detector.records import add_sample
    from shared.events import InferenceRequest

    _use_stack_env(_stack())
    with open(args.file, encoding="utf-8") as f:
        events = [InferenceRequest.model_validate_json(line) for line in f if line.strip()]
    for model, (added, stored) in add_sample(_store(), events).items():
        print(f"{model}: {added} windows from {args.file} added to {stored} stored")
    print("detector replicas read the reference when they first see a model: restart them to use it now")


def cmd_detector_risk(args) -> None:
    from services.detector.records import read_risk

    _use_stack_env(_stack())
    rows = [r for r in read_risk(_store()) if not args.model or r["model"] == args.model]
    for r in rows[:args.top]:
        tests = ", ".join(f"{t} {m:+.1f}" for t, m in sorted(r["risk_tests"].items(), key=lambda i: -i[1])[:3])
        print(f"{r['client_id']:28s} {r['model']:12s} risk {r['risk']:+6.2f}  {r['queries']:6d} queries  "
              f"{r['severity'] or 'no alert':9s} {tests}")
    if not rows:
        print("no client risk recorded yet (the detector writes it at each checkpoint, every 30 s)")


def cmd_models_list(args) -> None:
    from shared.registry import ModelRegistry

    _use_stack_env(_stack())
    registry = ModelRegistry(_store())
    for name in registry.names():
        promoted = registry.promoted(name)
        for version in registry.versions(name):
            card = registry.card(name, version)
            metrics = card.get("metrics", {})
            facts = ", ".join(f"{k} {metrics[k]:.3g}" for k in ("agreement", "relative_accuracy", "speedup")
                              if metrics.get(k) is not None)
            if card.get("student_kind"):
                facts = f"{card['student_kind']}: {facts}"
            if "gold_accuracy" in card:
                facts = f"gold accuracy {card['gold_accuracy']:.3f}"
            mark = "promoted" if version == promoted else ""
            print(f"{name:16s} v{version:4s} {mark:9s} {facts}")


def cmd_job_submit(args) -> None:
    from cli.jobs import submit_job

    _use_stack_env(_stack())
    sys.exit(asyncio.run(submit_job(Path(args.file), wait=not args.no_wait, timeout_s=args.timeout)))


def cmd_alerts_tail(args) -> None:
    from cli.jobs import tail_alerts

    _use_stack_env(_stack())
    asyncio.run(tail_alerts(follow=args.follow, timeout_s=args.timeout))


def cmd_traffic(args) -> None:
    from cli.traffic import run_traffic

    stack = _stack()
    _use_stack_env(stack)
    url = args.url or f"127.0.0.1:{stack.config.inference_port}"
    summary = asyncio.run(run_traffic(url, model=args.model, ordinary=args.ordinary, queries=args.queries,
                                      extractor_queries=args.extractor_queries))
    for line in summary:
        print(line)


def _watermark_keys():
    from shared.watermark import WatermarkKeySettings, parse_keys

    _use_stack_env(_stack())
    try:
        keys = parse_keys(WatermarkKeySettings().keys.get_secret_value())
    except ValueError as exc:
        sys.exit(f"distillery: {exc}")
    if not keys:
        sys.exit("distillery: no WATERMARK_KEYS: set them as the inference service has them (its Secret)")
    return keys


def cmd_verify(args) -> None:
    from cli.verify import (
        OipSuspect,
        OnnxSuspect,
        VerifyError,
        is_generative_folder,
        oip_is_generative,
        verify,
        write_report,
    )
    from shared.watermark import read_ledger

    keys = _watermark_keys()
    out = Path(args.out or f".distillery/reports/verify-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}")
    if args.max_queries < 0:
        sys.exit("distillery verify: --max-queries is a number of queries, 0 for the default")
    if args.top_logprobs is None:  # what the benchmarks measured: 20 asking a suspect, 5 reading
        args.top_logprobs = 5 if args.read else 20
    if args.top_logprobs < 0:
        sys.exit("distillery verify: --top-logprobs is a number of tokens per position, 0 for none")
    try:
        if args.address and not args.model:
            raise VerifyError("--address needs --model: the suspect's model name on that server")
        generative = bool(args.text or args.openai or args.safetensors or (
            args.onnx and is_generative_folder(Path(args.onnx))) or (
            args.address and asyncio.run(oip_is_generative(args.address, args.model, _suspect_key(args),
                                                           args.model_version))))
    except VerifyError as exc:
        sys.exit(f"distillery verify: {exc}")
    if generative:
        _verify_text(args, keys, out)
        return
    try:
        suspect = (OnnxSuspect(Path(args.onnx)) if args.onnx else
                   OipSuspect(args.address, args.model, _suspect_key(args), args.model_version))
        entries, ledger = read_ledger(_store(), keys, args.client or None, args.ledger_model or None)
        verification = asyncio.run(verify(suspect, entries, ledger, args.max_queries or 2000, args.alpha))
    except VerifyError as exc:
        sys.exit(f"distillery verify: {exc}")
    json_path, md_path = write_report(verification, out)
    t = verification.test
    print(f"verdict: {verification.verdict}  p = {t.p_value:.3g} (log10 {t.log10_p_value:.1f})  "
          f"{t.hits} watermark answers reproduced in {t.queries} queries (expected without our answers: "
          f"{t.disagreements / (t.n_classes - 1):.2f})")
    print(f"report: {md_path} and {json_path}")


def _suspect_key(args) -> str:
    return args.api_key or os.environ.get("DISTILLERY_API_KEY", "")


def _our_tokenizer(args):
    """The tokenizer of the generative model we served (its green lists are over its tokens): the
    registry's promoted --served-model, or the folder or file --tokenizer names. (tokenizer, source)."""
    from tokenizers import Tokenizer

    from cli.verify import VerifyError

    if args.tokenizer:
        path = Path(args.tokenizer)
        try:
            tokenizer, source = Tokenizer.from_file(str(path / "tokenizer.json" if path.is_dir() else path)), str(path)
        except Exception as exc:  # tokenizers raises its own exception type
            raise VerifyError(f"--tokenizer {path}: not a tokenizer.json or a folder holding one ({exc})") from None
    else:
        from shared.registry import ModelRegistry

        registry = ModelRegistry(_store())
        version = registry.promoted(args.served_model)
        body = registry.read_checked(args.served_model, version, "tokenizer.json") if version else None
        if body is None:
            raise VerifyError(f"the registry has no promoted {args.served_model!r} with a tokenizer.json: name "
                              "the model we served (--served-model) or give its folder (--tokenizer)")
        tokenizer, source = Tokenizer.from_str(body.decode()), f"{args.served_model} {version}"
    return tokenizer, source


def _verify_text(args, keys, out: Path) -> None:
    """`distillery verify --text FILE`, and a generative suspect (--openai, --address, --safetensors, or
    --onnx on a chat model's folder) asked prompts of ours, its answers tested the same way."""
    from cli.verify import (
        OipChatSuspect,
        OnnxChatSuspect,
        OpenAISuspect,
        SafetensorsChatSuspect,
        VerifyError,
        probe_prompts,
        read_pairs,
        read_texts,
        verify_generative,
        verify_reading,
        verify_texts,
        write_report,
    )

    answers = None
    try:
        from shared.tokens import vocabulary_by_bytes

        tokenizer, source = _our_tokenizer(args)

        def encode(text: str) -> list[int]:
            return tokenizer.encode(text, add_special_tokens=False).ids
        if args.text:
            result = verify_texts(read_texts(Path(args.text)), encode, keys, args.alpha, source)
        elif args.read:
            if not (args.onnx or args.safetensors):
                raise VerifyError("--read needs a model run here: --onnx or --safetensors")
            pairs = read_pairs(Path(args.read))[:args.max_queries or None]
            reader = SafetensorsChatSuspect(Path(args.safetensors)) if args.safetensors else OnnxChatSuspect(Path(args.onnx))
            result = asyncio.run(verify_reading(reader, pairs, keys, args.alpha, source, args.top_logprobs,
                                                vocabulary_by_bytes(tokenizer)))
        else:
            budget = args.max_queries or 500
            prompts = read_texts(Path(args.prompts))[:budget] if args.prompts else probe_prompts(budget)
            if args.openai and not args.model:
                raise VerifyError("--openai needs --model: the suspect's model name at that endpoint")
            suspect = (OpenAISuspect(args.openai, args.model or "", _suspect_key(args)) if args.openai else
                       OipChatSuspect(args.address, args.model, _suspect_key(args), args.model_version)
                       if args.address else SafetensorsChatSuspect(Path(args.safetensors))
                       if args.safetensors else OnnxChatSuspect(Path(args.onnx)))
            result, answers = asyncio.run(verify_generative(suspect, prompts, encode, keys, args.alpha, source,
                                                            args.top_logprobs, vocabulary_by_bytes(tokenizer)))
    except (VerifyError, OSError) as exc:
        sys.exit(f"distillery verify: {exc}")
    json_path, md_path = write_report(result, out, answers)
    if result.suspect and result.suspect.get("mode") == "reading":
        print(f"the suspect read {result.suspect['texts_read']} of our answers ({result.suspect['seconds']} s); scored "
              f"with its top {result.suspect['top_k_scored']} tokens at each position whose context was new to the text")
    elif result.suspect:
        ranked = result.suspect["top_k_scored"]
        print(f"asked the suspect {result.suspect['queries']} prompts ({result.suspect['seconds']} s)"
              + (f"; scored with its top {ranked} tokens at each of {result.suspect['positions_with_top_k']} positions"
                 if ranked else "; scored on the tokens it wrote"))
    best = min(result.tests, key=lambda t: t.log10_p_value)
    print(f"verdict: {result.verdict}  p = {10 ** result.log10_p_value:.3g} (log10 {result.log10_p_value:.1f})  "
          f"{best.green} green of {best.scored} distinct (context, token) pairs in {best.texts} texts "
          f"(expected without our key: {best.expected:.1f}; key {best.key_id})")
    print(f"report: {md_path} and {json_path}")


def cmd_watermark_new_key(args) -> None:
    from shared.watermark import new_key

    print(new_key(args.id))
    print("# put it first in WATERMARK_KEYS (the inference Secret), keep the old keys after it, then restart "
          "the inference service", file=sys.stderr)


def cmd_watermark_rotate(args) -> None:
    stack = _stack()
    key_id = stack.rotate_watermark_key()
    print(f"new watermark key {key_id} in {stack.run_dir / 'watermark.keys'}; older keys kept for verification. "
          "Restart the inference service to use it (`make down && make up`).")


def cmd_watermark_ledger(args) -> None:
    from shared.watermark import read_ledger

    entries, summary = read_ledger(_store(), _watermark_keys(), args.client or None)
    clients: dict[str, int] = {}
    for entry in entries:
        clients[entry.client_id] = clients.get(entry.client_id, 0) + 1
    for client, count in sorted(clients.items(), key=lambda c: -c[1]):
        print(f"{client:24s} {count:7d} watermarked inputs")
    print(f"{summary.distinct_inputs} distinct inputs in {summary.objects} objects; keys {summary.keys}; "
          f"{summary.rejected} entries not confirmed by the keys")


def cmd_demo(args) -> None:
    from cli.demo import run_demo

    sys.exit(run_demo(Path(args.job), Path(args.chat_job), cache=Path(args.cache), flows=args.flows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="distillery", description="Model distillation, and catching those who "
                                     "distill without the right to.")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    def add(name, func, help_text, parent=sub):
        p = parent.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    stack = sub.add_parser("stack", help="the embedded broker, S3 server and services").add_subparsers(required=True)
    up = add("up", cmd_stack_up, "start broker, S3 server and the five services", stack)
    up.add_argument("--infra-only", action="store_true", help="start broker and S3 server only")
    up.add_argument("--cache", default=".cache")
    add("down", cmd_stack_down, "stop everything `stack up` started", stack)
    add("status", cmd_stack_status, "what is running", stack)

    teacher = sub.add_parser("teacher-model", help="the default teacher model").add_subparsers(required=True)
    build = add("build", cmd_teacher_model_build, "build (or reuse) the teacher model", teacher)
    build.add_argument("--cache", default=".cache")
    build.add_argument("--lm", action="store_true",
                       help="the generative teacher, teacher-lm (SmolLM2-135M-Instruct to ONNX with its KV cache)")
    build.add_argument("--int8", action="store_true",
                       help="with --lm: also teacher-lm-int8, its weights in int8, with the quality cost measured")
    build.add_argument("--register", action="store_true",
                       help="register and promote what was built, under its own name, in the stack's registry")

    job = sub.add_parser("job", help="distillation jobs").add_subparsers(required=True)
    submit = add("submit", cmd_job_submit, "submit a job file and follow it to the end", job)
    submit.add_argument("file")
    submit.add_argument("--no-wait", action="store_true", help="return once the job is on distill.jobs")
    submit.add_argument("--timeout", type=float, default=900.0)

    models = sub.add_parser("models", help="the model registry").add_subparsers(required=True)
    add("list", cmd_models_list, "list models, versions and their metrics", models)

    keys = sub.add_parser("keys", help="API keys for the inference service").add_subparsers(required=True)
    create = add("create", cmd_keys_create, "create a key (printed once) that works at once", keys)
    create.add_argument("name")
    create.add_argument("--rps", type=float, default=None, help="quota in requests per second (default: the service's)")
    create.add_argument("--tpm", type=int, default=None,
                        help="generative models: quota in tokens per minute, prompt and completion (default: the service's)")
    create.add_argument("--scope", action="append", default=[], choices=["probabilities"],
                        help="grant more than the label and score: 'probabilities', the whole probability vector")
    add("list", cmd_keys_list, "list keys (names and hash prefixes; keys are stored hashed)", keys)
    revoke = add("revoke", cmd_keys_revoke, "revoke a client's keys, at once on every replica", keys)
    revoke.add_argument("name")
    revoke.add_argument("--sha256", default="", help="only the key whose hash starts so (see `keys list`)")

    enforcement = sub.add_parser("enforcement", help="clients throttled or blocked after abuse alerts").add_subparsers(
        required=True)
    add("list", cmd_enforcement_list, "list throttled and blocked clients", enforcement)
    lift = add("lift", cmd_enforcement_lift, "serve a client normally again (an operator's reversal)", enforcement)
    lift.add_argument("client")

    detector = sub.add_parser("detector", help="the abuse detector's reference and risk scores").add_subparsers(
        required=True)
    reference = add("reference", cmd_detector_reference, "seed the benign reference from a sample of ordinary "
                    "traffic (JSON lines of inference.requests events you vouch for)", detector)
    reference.add_argument("file")
    risk = add("risk", cmd_detector_risk, "every client's risk score (log10 past its false-positive budget; "
               "above 0 alerts), highest first", detector)
    risk.add_argument("--model", default="")
    risk.add_argument("--top", type=int, default=20)

    alerts = sub.add_parser("alerts", help="abuse alerts").add_subparsers(required=True)
    tail = add("tail", cmd_alerts_tail, "print abuse.alerts from the beginning", alerts)
    tail.add_argument("--follow", "-f", action="store_true", help="keep printing new alerts")
    tail.add_argument("--timeout", type=float, default=5.0, help="without --follow: stop after this many idle seconds")

    traffic = add("traffic", cmd_traffic, "simulate ordinary clients and one extracting client")
    traffic.add_argument("--url", default="")
    traffic.add_argument("--model", default="student")
    traffic.add_argument("--ordinary", type=int, default=6)
    traffic.add_argument("--queries", type=int, default=40, help="queries per ordinary client")
    traffic.add_argument("--extractor-queries", type=int, default=400)

    verify = add("verify", cmd_verify, "test whether a suspect model was distilled from our watermarked answers")
    target = verify.add_mutually_exclusive_group(required=True)
    target.add_argument("--onnx", help="a model folder (model.onnx, tokenizer.json, model.json) or its .onnx file; "
                                       "a chat model's folder is asked prompts of ours and its answers tested")
    target.add_argument("--openai", metavar="URL", help="a chat model behind an OpenAI-compatible API (its base "
                                                         "URL, with --model): asked prompts of ours, answers tested")
    target.add_argument("--address", help="HOST:PORT of an Open Inference Protocol gRPC server (with --model); a "
                                          "chat model there (Triton's text_input) is asked prompts of ours")
    target.add_argument("--safetensors", metavar="PATH", help="a chat model as Hugging Face weights (its folder, "
                                                               "or its model.safetensors): run here, asked prompts of ours")
    target.add_argument("--text", help="texts to test for our generations' watermark: JSONL (strings, or objects "
                                       "with text/content/completion) or plain text, one per line")
    verify.add_argument("--served-model", default="teacher-lm",
                        help="with --text or a chat suspect: the generative model we served (its tokenizer, from the registry)")
    verify.add_argument("--tokenizer", default="", help="with --text or a chat suspect: that model's folder or tokenizer.json instead")
    verify.add_argument("--model", help="the suspect's model name on that server")
    verify.add_argument("--model-version", default="")
    verify.add_argument("--api-key", default="", help="for the suspect's server (or DISTILLERY_API_KEY)")
    verify.add_argument("--client", default="", help="replay only this client's ledger (default: every client's)")
    verify.add_argument("--ledger-model", default="", help="only answers of this served model")
    verify.add_argument("--max-queries", type=int, default=0,
                        help="at most this many inputs replayed (2000), or prompts asked a chat model (500)")
    verify.add_argument("--prompts", default="", help="a chat suspect: the prompts to ask it (JSONL or one a line; "
                                                      "default: WordNet definitions)")
    verify.add_argument("--read", default="",
                        help="with --onnx or --safetensors: instead of asking it, feed the model these answers of our API "
                             "to keys that are not allow-listed (JSONL of {\"prompt\", \"answer\"}) and score what it ranks "
                             "highest at every position (a model trained on our answers predicts our green tokens)")
    verify.add_argument("--top-logprobs", type=int, default=None,
                        help="a chat suspect whose logits we can read (--openai's top_logprobs, --onnx, --safetensors): "
                             "score its top k tokens at every position too (0: the tokens it wrote alone); default 20, "
                             "and 5 with --read")
    verify.add_argument("--alpha", type=float, default=1e-6, help="significance level for the verdict 'derived'")
    verify.add_argument("--out", default="", help="report folder (default .distillery/reports/verify-<time>)")

    watermark = sub.add_parser("watermark", help="watermark keys and ledger").add_subparsers(required=True)
    new = add("new-key", cmd_watermark_new_key, "print a fresh 'id:secret' watermark key", watermark)
    new.add_argument("--id", default=None)
    add("rotate", cmd_watermark_rotate, "put a new key in front of the local stack's keys", watermark)
    ledger = add("ledger", cmd_watermark_ledger, "count the ledger's watermarked inputs per client", watermark)
    ledger.add_argument("--client", default="")

    demo = add("demo", cmd_demo, "run the whole platform end to end on the embedded stack")
    demo.add_argument("--job", default="examples/jobs/wordnet-supersenses.yaml", help="the classifier's job")
    demo.add_argument("--chat-job", default="examples/jobs/wordnet-definitions.yaml", help="the chat model's job")
    demo.add_argument("--flows", choices=("chat", "classifier", "both"), default="chat",
                      help="the chat model's flow (the default), the classifier's (with its detection and "
                           "watermark ledger), or both (over the 10-minute goal on 2 CPUs)")
    demo.add_argument("--cache", default=".cache")

    args = parser.parse_args(argv)
    if getattr(args, "address", None) and not args.model:
        parser.error("--address needs --model")
    args.func(args)


if __name__ == "__main__":
    main()
