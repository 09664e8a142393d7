"""The event contract: one typed model per topic, and the topics themselves.

Every event is a JSON object. Fields are only ever added within a schema version; a consumer must
ignore fields it does not know. Trace context travels in the Kafka headers (W3C `traceparent`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Event(BaseModel):
    # Unknown fields are ignored, so producers can add fields without breaking consumers.
    model_config = ConfigDict(extra="ignore")

    schema_version: int = SCHEMA_VERSION


# ---- distill.jobs ---------------------------------------------------------------------------

class RateLimits(BaseModel):
    """What the teacher's owner allows, for all replicas together (0: no limit)."""

    requests_per_minute: float = Field(0, ge=0)
    tokens_per_minute: float = Field(0, ge=0)
    max_concurrency: int = Field(8, ge=1, le=1024)


class Prices(BaseModel):
    """What the teacher charges, in the currency of the job's `budget.max_cost`."""

    per_request: float = Field(0, ge=0)
    per_million_input_tokens: float = Field(0, ge=0)
    per_million_output_tokens: float = Field(0, ge=0)


class TeacherSpec(BaseModel):
    """Which teacher to query and how. `kind` names a module in services/teacher/adapters:
    `oip` (an Open Inference Protocol gRPC server: ours, Triton, KServe), `openai-chat` (labels from
    chat completions, soft labels from `top_logprobs`), `openai-generation` (a chat model's answers
    with `top_logprobs` at every position: what an LLM student learns from), `openai-embeddings`,
    `onnx` (in process)."""

    kind: str = Field("oip", pattern=r"^[a-z][a-z0-9-]{0,40}$")
    # oip: host:port; openai-*: the API's base URL (https://api.openai.com/v1); onnx: a registry
    # model name, or an s3:// prefix holding model.onnx, tokenizer.json and model.json.
    url: str = "127.0.0.1:8001"
    model: str = "teacher"
    version: str = ""
    # Prompts per unit of work; for oip, onnx and embeddings also texts per request.
    batch_size: int = Field(32, ge=1, le=1024)
    # The name of the environment variable that holds the API key: keys never travel in events.
    api_key_env: str = "TEACHER_API_KEY"
    # openai-chat: the label set, and how it is asked for.
    classes: list[str] = Field(default_factory=list)
    # The system message. openai-chat, empty: one listing the numbered classes; openai-generation,
    # empty: none (each prompt is the user's message alone).
    instructions: str = ""
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int = Field(4, ge=1, le=4096)  # openai-generation: the longest answer paid for
    top_logprobs: int = Field(20, ge=0, le=20)  # 0: hard labels only (openai-generation: the tokens alone)
    timeout_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(5, ge=1, le=20)
    limits: RateLimits = Field(default_factory=RateLimits)
    prices: Prices = Field(default_factory=Prices)


class BudgetSpec(BaseModel):
    """Spending caps for one job, checked before every request (None: no cap). Cached answers are free."""

    max_queries: int | None = Field(None, ge=0)  # requests sent, retries included
    max_tokens: int | None = Field(None, ge=0)  # input + output tokens
    max_cost: float | None = Field(None, ge=0)


class PromptTemplate(BaseModel):
    """Prompts made the self-instruct way: every combination of slot values, in order."""

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    template: str  # `{slot}` marks a slot; `{{` and `}}` are literal braces
    slots: dict[str, list[str]] = Field(default_factory=dict)
    limit: int | None = Field(None, ge=1)


class CurationSpec(BaseModel):
    min_chars: int = Field(1, ge=1)
    max_chars: int = Field(1000, ge=1)
    # Drop a text whose estimated Jaccard similarity (MinHash over character 5-grams) to an earlier
    # kept text is this or more; None keeps near-duplicates (exact ones are always dropped).
    near_duplicate_threshold: float | None = Field(0.8, gt=0, le=1)
    # Drop answers the teacher was unsure of: top probability below, or entropy (nats) above.
    min_confidence: float = Field(0.0, ge=0, le=1)
    max_entropy: float | None = Field(None, gt=0)
    max_per_class: int | None = Field(None, ge=1)  # class balancing: cap on train rows per teacher label
    scrub: bool = True  # replace e-mail addresses, phone numbers and API keys in texts
    # Generative teachers' answers (`completion`): kept only when finished (not cut at max_tokens),
    # not empty, not a refusal, without contact details or keys (dropped, not scrubbed: the answer's
    # tokens must stay as the teacher gave them), and not looping: at most this share of its word
    # 3-grams repeating an earlier one.
    keep_truncated: bool = False
    drop_refusals: bool = True
    max_repetition: float = Field(0.3, ge=0, le=1)
    # A registered model (name, or name:version) whose tokenizer.json maps the answer's token bytes
    # to ids, written beside the bytes (-1: a token that vocabulary does not have). Empty: bytes only.
    tokenizer_model: str = ""
    val_fraction: float = Field(0.1, ge=0, lt=0.5)
    test_fraction: float = Field(0.2, ge=0, lt=0.5)
    shard_rows: int = Field(50_000, ge=1)  # rows per Parquet shard


class StudentSpec(BaseModel):
    name: str = Field("student", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    # static-embedding: token vectors (from the teacher's encoder, as model2vec makes them), mean-pooled,
    # then a small head; transformer: a small transformer encoder over the same token vectors;
    # causal-lm: a chat model made of `layers` of a generative teacher's (teacher-lm), trained on its
    # curated answers (services/trainer/student_lm.py).
    kind: Literal["static-embedding", "transformer", "causal-lm"] = "static-embedding"
    epochs: int = Field(30, ge=1, le=1000)
    patience: int = Field(5, ge=1)  # early stopping: epochs without a better validation agreement
    batch_size: int = Field(64, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    # Loss = kd_weight * Hinton KD (KL at `temperature`, times T^2) + (1 - kd_weight) * cross-entropy
    # on hard labels: the teacher's top class, or the gold label where `hard_labels` is "gold".
    temperature: float = Field(2.0, gt=0)
    kd_weight: float = Field(0.9, ge=0, le=1)
    hard_labels: Literal["teacher", "gold"] = "teacher"
    max_length: int = Field(64, ge=4, le=512)
    hidden: int = Field(0, ge=0)  # a hidden layer in the head (0: a linear head)
    layers: int = Field(2, ge=1, le=32)  # transformer: encoder layers; causal-lm: the teacher's layers kept
    width: int = Field(128, ge=16, le=1024)  # transformer only: model width (heads of 32)
    # serve an int8 model (classifiers: dynamically quantised; causal-lm: int8 weights), with its own
    # parity or quality cost in the card
    quantize: bool = False
    seed: int = 0
    # causal-lm only: what it learns from (the teacher's tokens; plus its top-k as a KL term with
    # `topk_weight`; both plus the gold answers as hard labels, Hinton et al.'s soft and hard targets;
    # or the gold answers alone, a baseline), whether the tied embedding trains, the
    # prompts it is scored on (greedy answers against the teacher's and the gold ones) and the
    # system message its prompts were asked with (the teacher's `instructions`).
    lm_loss: Literal["sequence", "sequence+topk", "sequence+topk+gold", "gold"] = "sequence+topk"
    topk_weight: float = Field(1.0, ge=0)
    # causal-lm: 0 keeps the teacher's tied head over its whole vocabulary; N gives the student a head
    # of its own over the N tokens its training answers use most (then the teacher's alternatives),
    # so it is cheaper a token and affords more layers at the same speed, and never writes another.
    head_tokens: int = Field(0, ge=0)
    train_embeddings: bool = False
    eval_prompts: int = Field(64, ge=1)
    max_new_tokens: int = Field(64, ge=1, le=1024)
    # causal-lm: data-parallel workers (torchrun processes, or pods in Kubernetes: TRAINER_RUNNER); the
    # global batch stays `batch_size`, split between them; and a checkpoint every N steps besides every
    # epoch (0: epochs only), so that a lost worker costs at most that many steps.
    workers: int = Field(1, ge=1, le=256)
    checkpoint_steps: int = Field(0, ge=0)


class GateSpec(BaseModel):
    """A student is promoted only when every threshold holds."""

    # top-1 agreement (classifiers), mean cosine (embedders), next-token agreement (generative)
    min_agreement: float = Field(0.5, ge=0, le=1)
    min_speedup: float = Field(1.0, ge=0)
    # Student gold accuracy over the teacher's (generative: ROUGE-L against the gold answers), on the
    # same test prompts; needs a job with `label_field`.
    min_relative_accuracy: float | None = Field(None, ge=0)
    max_kl: float | None = Field(None, ge=0)


class DistillJob(Event):
    """topic `distill.jobs`, key: job_id. A distillation job, as `distillery job submit` sends it."""

    job_id: str
    name: str
    submitted_at: datetime = Field(default_factory=utcnow)
    # s3://bucket/key of a JSONL file (one {"id": ..., "text": ...} per line) or a Parquet file.
    prompts_uri: str = ""
    prompts_format: Literal["auto", "jsonl", "parquet"] = "auto"  # auto: from the key's suffix
    id_field: str = "id"
    text_field: str = "text"
    # A column of gold labels in the prompt file, if it has one: the curator keeps it beside the
    # teacher's answer so that students (and the teacher) are scored on it. Never sent to the teacher.
    label_field: str = ""
    # A column that groups prompts (a WordNet lemma, a document): the curator splits by it, so no
    # group is on both sides of a split. Empty: each prompt is its own group.
    group_field: str = ""
    templates: list[PromptTemplate] = Field(default_factory=list)
    teacher: TeacherSpec = Field(default_factory=TeacherSpec)
    curation: CurationSpec = Field(default_factory=CurationSpec)
    student: StudentSpec = Field(default_factory=StudentSpec)
    gate: GateSpec = Field(default_factory=GateSpec)
    budget: BudgetSpec = Field(default_factory=BudgetSpec)


class JobStatus(Event):
    """topic `distill.jobs.status`, key: job_id. Progress of a job, stage by stage."""

    job_id: str
    stage: Literal["teacher", "curator", "trainer"]
    # stopped: the stage ended early on purpose (a spent budget) and the job goes on with what it has
    state: Literal["started", "progress", "done", "stopped", "failed"]
    message: str = ""
    counts: dict[str, float] = Field(default_factory=dict)
    time: datetime = Field(default_factory=utcnow)


# ---- teacher.work ---------------------------------------------------------------------------

class WorkPrompt(BaseModel):
    prompt_id: str
    seq: int = Field(ge=0)
    text: str


class TeacherWork(Event):
    """topic `teacher.work`, key: job_id, partition: `share`. One unit of a job's querying; the
    units are spread over the topic's partitions so that every teacher replica takes a share."""

    job_id: str
    batch: int = Field(ge=0)
    batches: int = Field(ge=1)
    share: int = Field(ge=0)  # the partition it was sent to; the job's budget is split evenly by share
    shares: int = Field(ge=1)
    total: int = Field(ge=1)  # prompts in the job
    teacher: TeacherSpec
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    prompts: list[WorkPrompt]


# ---- teacher.responses ----------------------------------------------------------------------

# The start of `TeacherResponse.error` for prompts left unasked because the job's budget was spent.
NOT_ASKED = "not asked: "


class Completion(BaseModel):
    """A generative teacher's answer, position by position, as an OpenAI-compatible API gives it
    with `logprobs` and `top_logprobs`. Tokens are kept as their UTF-8 bytes (hex): a token can be
    part of a character, and bytes are what map it back to an id in a student's tokenizer of the
    same family. `top_tokens[i]` / `top_logprobs[i]`: position i's alternatives, best first (k of
    them, at most 20); their probabilities need not sum to 1 (the rest is the tail)."""

    text: str
    finish_reason: str  # stop, length, content_filter, ... as the API said
    tokens: list[str] = Field(default_factory=list)  # hex UTF-8 bytes of each generated token
    logprobs: list[float] = Field(default_factory=list)  # of each generated token
    top_tokens: list[list[str]] = Field(default_factory=list)  # hex bytes
    top_logprobs: list[list[float]] = Field(default_factory=list)

    def token_texts(self) -> list[str]:
        return [bytes.fromhex(t).decode("utf-8", "replace") for t in self.tokens]


class TeacherResponse(Event):
    """topic `teacher.responses`, key: job_id (a job's responses stay in one partition, in order).

    Exactly one per prompt: `probabilities` (in the order of `classes`), or `embedding` (an
    embedding teacher), or `completion` (a generative teacher), or `error` (including prompts a
    spent budget left unasked).
    """

    job_id: str
    prompt_id: str
    seq: int = Field(ge=0)
    total: int = Field(ge=1)
    text: str
    teacher_model: str
    teacher_version: str = ""
    classes: list[str] = Field(default_factory=list)
    probabilities: list[float] | None = None
    embedding: list[float] | None = None
    completion: Completion | None = None
    error: str | None = None
    cached: bool = False  # answered from the response cache, at no cost
    time: datetime = Field(default_factory=utcnow)


# ---- dataset.ready --------------------------------------------------------------------------

class DatasetReady(Event):
    """topic `dataset.ready`, key: job_id. A curated, immutable dataset in the artifact store."""

    job_id: str
    dataset_id: str
    uri: str  # s3:// prefix holding manifest.json and the Parquet shards it lists for each split
    manifest_uri: str
    counts: dict[str, int]  # rows per split
    dropped: dict[str, int]  # rows dropped, by reason
    classes: list[str]
    time: datetime = Field(default_factory=utcnow)


# ---- model.trained / model.promoted ---------------------------------------------------------

class ModelMetrics(BaseModel):
    agreement: float  # top-1 agreement with the teacher on the test split (mean cosine for embedders)
    kl_to_teacher: float  # 0 for embedders
    parity_max_abs_diff: float  # onnxruntime against torch on the test split
    student_texts_per_s: float
    teacher_texts_per_s: float
    speedup: float
    test_rows: int
    size_bytes: int
    student_p50_ms: float = 0.0  # one text
    teacher_p50_ms: float = 0.0
    gold_rows: int = 0  # test rows with a gold label
    gold_accuracy: float | None = None
    teacher_gold_accuracy: float | None = None
    relative_accuracy: float | None = None  # gold_accuracy / teacher_gold_accuracy
    quantized: bool = False  # the served model.onnx is int8
    # Generative students: agreement is next-token agreement with the teacher's answers (teacher
    # forcing), kl_to_teacher the KL on its top-k plus tail, texts/s are output tokens/s; gold
    # "accuracy" is ROUGE-L against the gold answers, so relative_accuracy is the student's ROUGE-L
    # over the teacher's.
    rouge_l_to_teacher: float | None = None  # the student's greedy answers against the teacher's


class ModelTrained(Event):
    """topic `model.trained`, key: model_name. A student trained, exported and registered."""

    job_id: str
    model_name: str
    version: str
    uri: str
    metrics: ModelMetrics
    gate_passed: bool
    gate_reasons: list[str] = Field(default_factory=list)  # why the gate failed, if it did
    time: datetime = Field(default_factory=utcnow)


class ModelPromoted(Event):
    """topic `model.promoted`, key: model_name. The version every inference replica now serves."""

    model_name: str
    version: str
    uri: str
    job_id: str = ""
    time: datetime = Field(default_factory=utcnow)


# ---- inference.requests ---------------------------------------------------------------------

class InferenceRequest(Event):
    """topic `inference.requests`, key: client_id. One per text answered; no raw text, only its
    fingerprints: `text_sha256` for exact repeats, `text_minhash` for near-duplicates and templates."""

    request_id: str
    client_id: str
    model: str
    model_version: str
    time: datetime
    text_sha256: str
    text_simhash: str = ""  # no longer sent (schema 1 had it): text_minhash finds near-duplicates
    text_chars: int
    top_class: str
    top_probability: float
    entropy: float  # of the returned distribution, in nats
    n_classes: int  # how many classes the model answers with
    outputs: list[str] = Field(default_factory=list)  # outputs the client asked for
    # Added in schema 1 for the detector (empty from older producers):
    text_sketch: str = ""  # no longer sent: the detector stopped comparing queries with training texts
    text_minhash: list[int] = Field(default_factory=list)  # 8 x 32-bit MinHash of its word 3-shingles
    client_network: str = ""  # the caller's /24 (IPv4) or /48 (IPv6) network
    user_agent: str = ""  # the caller's gRPC user agent
    # Added in schema 1 for the detector's synthetic-query test (None: under 6 words, or an older producer):
    text_function_words: float | None = None  # share of its words that are English function words


class InferenceGeneration(Event):
    """topic `inference.generations`, key: client_id. One per generation request answered by a
    generative model (its `n` choices together), streamed or not, finished or abandoned. No raw
    text: the prompt's fingerprints (of the last user message, or the whole prompt) as in
    `inference.requests`."""

    request_id: str
    client_id: str
    model: str
    model_version: str
    time: datetime
    api: Literal["chat.completions", "completions", "oip"]
    status: Literal["ok", "cancelled", "error"] = "ok"  # cancelled: the client went away mid-generation
    prompt_tokens: int
    completion_tokens: int  # over every choice
    choices: int = 1  # n
    max_tokens: int
    temperature: float
    top_p: float
    logprobs: bool = False
    top_logprobs: int = 0  # alternatives asked for per position (0-20)
    stream: bool = False
    finish_reasons: list[str] = Field(default_factory=list)  # per choice: stop, length
    messages: int = 0  # chat turns sent (0: a plain prompt)
    system_prompt: bool = False
    ttft_s: float | None = None  # time to the first token
    latency_s: float
    text_sha256: str = ""
    text_chars: int = 0
    text_minhash: list[int] = Field(default_factory=list)
    text_function_words: float | None = None
    client_network: str = ""
    user_agent: str = ""
    watermark_key_id: str = ""  # the key whose green lists marked the answer ("": not marked, an allow-listed client)
    # For the detector's chat tests (empty from older producers):
    prompt_topics: list[str] = Field(default_factory=list)  # the WordNet supersense of each of its nouns, rarest first
    prompt_nouns: list[int] = Field(default_factory=list)  # a 16-bit hash of each of those nouns (new or used before)
    reasoning_cue: bool = False  # the prompt (or the system prompt) asks for the reasoning, the working or a rationale
    # Continuations (shared.fingerprint): a hash of the tail of each choice cut at max_tokens, and
    # hashes of the tail of what this request continues (the prompt, or a chat's last assistant
    # message). A request whose prompt_tails meet an earlier answer_tail of its client continues it.
    answer_tails: list[int] = Field(default_factory=list)
    prompt_tails: list[int] = Field(default_factory=list)


# ---- abuse.alerts ---------------------------------------------------------------------------

class DetectorFinding(BaseModel):
    detector: str
    score: float = Field(ge=0, le=1)
    evidence: dict[str, float | int | str] = Field(default_factory=dict)


class AbuseAlert(Event):
    """topic `abuse.alerts`, key: alert_id. `status` runs open -> update* -> resolve; an update
    when the score rises or a ring grows. `client_ids` has one client, or every key of a ring of
    linked accounts (`ring` true). Severity: low (watch), medium, high, critical; what each does
    is the inference service's enforcement policy."""

    alert_id: str
    status: Literal["open", "update", "resolve"]
    client_ids: list[str]
    model: str
    score: float = Field(ge=0, le=1)
    severity: Literal["low", "medium", "high", "critical"]
    findings: list[DetectorFinding]
    window_start: datetime
    window_end: datetime
    time: datetime = Field(default_factory=utcnow)
    # Added in schema 1 (absent from older producers):
    ring: bool = False
    queries: dict[str, int] = Field(default_factory=dict)  # answered texts per named client, in the window
    explanation: str = ""  # one line: which detectors fired, with their numbers


# ---- detector.profiles ----------------------------------------------------------------------

class ClientProfile(Event):
    """topic `detector.profiles`, key: model. What the detector's first stage (partitioned by
    client) knows of one client, every few queries; its second stage links clients into rings.
    Internal to the detector."""

    client_id: str
    model: str
    window_start: datetime
    time: datetime
    queries: int
    n_classes: int
    class_counts: dict[str, int]
    near_duplicate_rate: float
    full_distribution_rate: float
    template_keys: list[str] = Field(default_factory=list)  # its most repeated MinHash bands
    networks: list[str] = Field(default_factory=list)
    user_agents: list[str] = Field(default_factory=list)
    alerted: bool = False  # already alerted on alone
    # Added in schema 1: the client's risk, published for every client, alerted or not.
    risk: float = 0.0  # log10 of how far its strongest lead test is past its false-positive budget; > 0 alerts
    risk_tests: dict[str, float] = Field(default_factory=dict)  # the same, per lead test ("coverage@64", ...)
    spread: float = 0.0  # exp(entropy) of its last confident answers' classes / the classes (for rings)
    spread_window: int = 0  # how many answers `spread` is of (8, 16, 32 or 64; 0: too few to say)
    templated: bool = False  # most of its queries fill one template
    chat: bool = False  # a chat model's client: its classes are its prompts' topics


# ---- inference.control ----------------------------------------------------------------------

class AccessChange(Event):
    """topic `inference.control`, key: client_id. Tells every inference replica to re-read a
    client's keys or enforcement from the store now, instead of within its cache's lifetime."""

    change: Literal["key_revoked", "enforcement_lifted"]
    client_id: str
    by: str = ""  # who made the change
    time: datetime = Field(default_factory=utcnow)


# ---- topics ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Topic:
    name: str
    event: type[Event]
    key: str
    # Topics consumed by a service get a `<name>.dlq` twin for events that could not be handled.
    consumed: bool = True
    # Partitions bound how many replicas share a topic's work; None: the cluster's default.
    partitions: int | None = None


TOPICS: tuple[Topic, ...] = (
    Topic("distill.jobs", DistillJob, "job_id"),
    Topic("distill.jobs.status", JobStatus, "job_id", consumed=False),
    # 12 divides evenly among 1, 2, 3, 4 or 6 teacher replicas.
    Topic("teacher.work", TeacherWork, "job_id", partitions=12),
    Topic("teacher.responses", TeacherResponse, "job_id"),
    Topic("dataset.ready", DatasetReady, "job_id"),
    Topic("model.trained", ModelTrained, "model_name", consumed=False),
    Topic("model.promoted", ModelPromoted, "model_name"),
    Topic("inference.requests", InferenceRequest, "client_id"),
    Topic("inference.generations", InferenceGeneration, "client_id"),
    Topic("abuse.alerts", AbuseAlert, "alert_id"),
    # Keyed by model: one detector replica links a model's clients into rings.
    Topic("detector.profiles", ClientProfile, "model"),
    Topic("inference.control", AccessChange, "client_id"),
)
TOPIC_BY_NAME = {t.name: t for t in TOPICS}


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics() -> dict[str, int | None]:
    """Every topic name, with its partition count (None: the default); dead-letter twins included."""
    topics = {t.name: t.partitions for t in TOPICS}
    topics.update({dlq_topic(t.name): None for t in TOPICS if t.consumed})
    return topics


def all_topic_names() -> list[str]:
    return list(all_topics())
