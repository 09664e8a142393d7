"""The detector's logic, in process: its tests, calibration, severity, windows, rings, checkpoints."""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from services.detector.detection import (
    CHAT_TESTS,
    BenignReference,
    ClientDetector,
    ClientState,
    DetectorSettings,
    RingLinker,
    binomial_tail,
    effective_classes,
    reference_from_events,
)
from shared.events import ClientProfile, InferenceRequest
from shared.fingerprint import function_word_share

START = datetime(2026, 1, 1, tzinfo=UTC)
CLASSES = [f"c{i}" for i in range(45)]


def _event(client: str, i: int, top_class: str, *, probability: float = 0.9, function_words: float | None = 0.4,
           minhash: list[int] | None = None, outputs: tuple[str, ...] = ("LABEL", "SCORE"), network: str = "",
           model: str = "m", agent: str = "") -> InferenceRequest:
    return InferenceRequest(
        request_id=f"{client}/r{i}", client_id=client, model=model, model_version="1",
        time=START + timedelta(seconds=i), text_sha256=hashlib.sha256(f"{client}/{i}".encode()).hexdigest(),
        text_simhash="0" * 16, text_chars=40, top_class=top_class, top_probability=probability, entropy=0.3,
        n_classes=len(CLASSES), outputs=list(outputs), text_function_words=function_words,
        text_minhash=minhash if minhash is not None else [(i * 8 + k) * 7919 % 2**32 for k in range(8)],
        client_network=network, user_agent=agent)


def _alerts(detector: ClientDetector, events) -> list:
    return [a for a in (detector.observe(e)[0] for e in events) if a is not None]


def test_function_word_share_tells_language_from_word_salad():
    assert function_word_share("the part of footwear that provides a covering for the toes") > 0.3
    assert function_word_share("gemstone irrevocably footwear rodent covering toes perch") == 0.0
    assert function_word_share("decide irrevocably") is None  # too short to say


def test_a_harvester_is_alerted_a_niche_user_and_an_allow_listed_client_are_not():
    detector = ClientDetector(DetectorSettings(allow_clients=frozenset({"our-teacher"})))
    alerts = []
    for i in range(400):
        alerts += _alerts(detector, [_event("niche", i, CLASSES[i % 3]), _event("thief", i, CLASSES[i % 45]),
                                     _event("our-teacher", i, CLASSES[i % 45])])
    assert [a.client_ids for a in alerts] == [["thief"]]  # opened once, deduplicated after
    (finding,) = [f for f in alerts[0].findings if f.detector == "coverage"]
    assert alerts[0].status == "open" and alerts[0].queries["thief"] == 64  # the smallest window, full
    # It names the window that made it: which requests, from when to when.
    assert finding.evidence["window_first_request"] == "thief/r0"
    assert finding.evidence["window_last_request"] == "thief/r63"


def test_a_templated_application_alone_is_never_alerted():
    """Every query one template (a shared MinHash band) over a niche: templates are support only."""
    detector = ClientDetector(DetectorSettings())
    events = [_event("app", i, CLASSES[i % 2], minhash=[11, 12] + [i * 6 + k for k in range(6)]) for i in range(600)]
    assert _alerts(detector, events) == []
    state = detector.clients[("app", "m")]
    assert detector.supports(state)[0].detector == "templates"


def test_a_minority_of_synthetic_queries_inside_natural_traffic_is_found_in_its_window():
    detector = ClientDetector(DetectorSettings())
    events = [_event("mixer", i, CLASSES[i % 2]) for i in range(300)]
    # Then a quarter of its queries are word salad, slipped in among the natural ones.
    events += [_event("mixer", i, CLASSES[i % 2], function_words=0.0 if i % 4 == 0 else 0.4) for i in range(300, 600)]
    alerts = _alerts(detector, events)
    assert alerts and alerts[0].findings[0].detector == "synthetic"
    first = int(str(alerts[0].findings[0].evidence["window_first_request"]).split("/r")[1])
    assert first >= 300 - 64  # the window that fired holds the mixed part, not the clean start


def _ordinary_stream(rng: random.Random, client: str, n: int) -> list[InferenceRequest]:
    """An ordinary client of a noisy model: a topic of 2-4 classes, and a tenth of answers anywhere."""
    topic = rng.sample(CLASSES, rng.randint(2, 4))
    return [_event(client, i, rng.choice(CLASSES) if rng.random() < 0.1 else rng.choice(topic))
            for i in range(n)]


def test_a_client_like_the_reference_is_not_flagged_however_much_it_sends():
    """The false-positive budget is spent over a client's windows: volume alone never alerts."""
    rng = random.Random(3)
    config = DetectorSettings()
    sample = [e for c in range(300) for e in _ordinary_stream(rng, f"ref-{c}", 128)]
    references = reference_from_events(sample, config)
    assert references["m"].calibration("coverage@64").windows >= config.min_reference
    detector = ClientDetector(config)
    detector.references.update(references)
    heavy = [e for c in range(20) for e in _ordinary_stream(rng, f"heavy-{c}", 3000)]
    assert _alerts(detector, heavy) == []
    assert all(s.risk < 0 for s in detector.clients.values())
    # ... while a harvester against the same reference is named.
    assert _alerts(detector, [_event("thief", i, CLASSES[i % 45]) for i in range(128)])


def test_harvesting_the_whole_vector_with_coverage_is_two_signals_and_critical():
    detector = ClientDetector(DetectorSettings())
    alerts = _alerts(detector, [_event("thief", i, CLASSES[i % 45], outputs=("PROBABILITIES",)) for i in range(128)])
    assert alerts[-1].severity == "critical"
    assert {f.detector for f in alerts[-1].findings} >= {"coverage", "harvesting"}
    # Coverage alone, however strong, is one signal: throttled (high at most), never blocked; over
    # budget in one window it is watched, in two it is throttled.
    alone = _alerts(ClientDetector(DetectorSettings()), [_event("t2", i, CLASSES[i % 45]) for i in range(512)])
    assert {a.severity for a in alone} <= {"low", "medium", "high"} and alone[-1].severity != "low"


def test_on_chat_traffic_only_lead_tests_raise_the_severity_and_it_is_capped():
    from shared.events import DetectorFinding

    def lead(margin: float) -> DetectorFinding:
        return DetectorFinding(detector="coverage", score=0.9, evidence={"margin_log10": margin})

    template = [DetectorFinding(detector="templates", score=0.9)]
    settings = DetectorSettings()
    # One lead with support: a classifier's client is throttled, a chat product (every one has
    # templates) is watched.
    assert settings.severity([lead(1.0)], template, chat=False) == "medium"
    assert settings.severity([lead(1.0)], template, chat=True) == "low"
    # A strong lead throttles either; two leads, one strong, block a classifier's client and only
    # throttle a chat client (chat_max_severity), and an open alert's severity is a floor.
    assert settings.severity([lead(4.0)], [], chat=True) == "medium"
    assert settings.severity([lead(4.0), lead(1.0)], [], chat=False) == "critical"
    assert settings.severity([lead(4.0), lead(1.0)], [], chat=True) == "high"
    assert settings.severity([lead(1.0)], [], chat=True, floor="medium") == "medium"
    assert DetectorSettings(chat_max_severity="low").severity([lead(4.0), lead(1.0)], [], chat=True) == "low"
    # A tutor's system prompt asks for the reasoning in every request: that test alone only watches a
    # chat client, however strong; beside another lead it counts.
    reasoning = DetectorFinding(detector="reasoning", score=1.0, evidence={"margin_log10": 9.0, "windows_over_budget": 5})
    assert settings.severity([reasoning], [], chat=True) == "low"
    assert settings.severity([reasoning, lead(1.0)], [], chat=True) == "high"


def test_a_chat_clients_code_and_records_are_no_evidence():
    # An agent's tool output, a labelling product's JSON records: not language-like, and ordinary for a
    # chat model, so its clients never meet the synthetic test (a classifier's clients do, above).
    from cli.simulator import ClientPlan

    records = [f'{{"sku": "A-{i:05d}", "qty": {i % 7}, "eur": {i * 1.25:.2f}, "ok": true}}' for i in range(256)]
    detector = ClientDetector(DetectorSettings())
    alerts = _alerts(detector, _chat_events([ClientPlan("labeller", "records", False, records)]))
    assert not any(f.detector == "synthetic" for a in alerts for f in a.findings)
    state = detector.clients[("labeller", "teacher-lm")]
    assert state.chat and not state.windows["synthetic"] and "synthetic" not in state.risk_tests


def test_an_open_alerts_severity_never_falls():
    detector = ClientDetector(DetectorSettings())
    events = [_event("thief", i, CLASSES[i % 45], outputs=("PROBABILITIES",)) for i in range(128)]
    events += [_event("thief", 128 + i, CLASSES[0]) for i in range(400)]  # then it narrows
    alerts = _alerts(detector, events)
    assert alerts[0].status == "open"
    ranks = [("low", "medium", "high", "critical").index(a.severity) for a in alerts]
    assert ranks == sorted(ranks)


def test_alerts_resolve_when_the_client_goes_quiet_for_longer_than_it_usually_waits():
    detector = ClientDetector(DetectorSettings(resolve_after_s=900, idle_s=86_400, alert_epoch_s=10**6))
    opened = _alerts(detector, [_event("thief", i, CLASSES[i % 45]) for i in range(90)])
    last_seen = START + timedelta(seconds=89)
    assert detector.sweep(last_seen + timedelta(seconds=899)) == []
    (resolved,) = detector.sweep(last_seen + timedelta(seconds=900))
    assert resolved.status == "resolve" and resolved.alert_id == opened[0].alert_id
    assert resolved.client_ids == ["thief"] and detector.sweep(last_seen + timedelta(seconds=2000)) == []
    # Its evidence is kept: back, it is named again at once, in a new alert.
    later = _alerts(detector, [_event("thief", 5000 + i, CLASSES[i % 45]) for i in range(10)])
    assert later[0].status == "open" and later[0].alert_id != opened[0].alert_id
    # Evidence is counted in requests, not hours: a thief asking every ten minutes is named after as
    # many requests as one asking every second, and it is not quiet between two requests (nor for
    # three of its longest waits).
    paced = [_event("pacer", 600 * i, CLASSES[i % 45]) for i in range(90)]
    named = _alerts(detector, paced)
    assert named and {a.alert_id for a in named} == {named[0].alert_id}
    assert named[0].queries["pacer"] == opened[0].queries["thief"]
    end = paced[-1].time
    assert not [a for a in detector.sweep(end + timedelta(seconds=1799)) if "pacer" in a.client_ids]
    assert [a.alert_id for a in detector.sweep(end + timedelta(seconds=1800)) if "pacer" in a.client_ids] == \
        [named[0].alert_id]
    # A client never alerted is forgotten once idle_s quiet: memory follows the clients active within it.
    detector.observe(_event("person", 0, CLASSES[0]))
    detector.sweep(START + timedelta(seconds=86_399))
    assert ("person", "m") in detector.clients
    detector.sweep(START + timedelta(seconds=86_400))
    assert ("person", "m") not in detector.clients


def test_an_alert_lasts_one_period_and_the_tests_budget_is_spent_again_each_period():
    detector = ClientDetector(DetectorSettings(alert_epoch_s=3600))
    first = _alerts(detector, [_event("thief", i, CLASSES[i % 45]) for i in range(90)])
    state = detector.clients[("thief", "m")]
    assert state.epoch_seen == {}
    # An hour on, still at it: the alert is resolved (at the next sweep) and opened anew, a new id,
    # from the windows it had; the period's budget starts again.
    again = _alerts(detector, [_event("thief", 3600 + i, CLASSES[i % 45]) for i in range(10)])
    assert again and again[0].status == "open" and again[0].alert_id != first[0].alert_id
    assert state.epoch_seen and state.window_start == START + timedelta(seconds=3600)
    (resolved,) = detector.sweep(START + timedelta(seconds=3620))
    assert resolved.status == "resolve" and resolved.alert_id == first[0].alert_id
    restored = ClientState.from_json(state.to_json())
    assert restored.epoch_seen == state.epoch_seen and list(restored.gaps) == list(state.gaps)


def test_calibration_is_empirical_in_the_body_and_an_exponential_tail_beyond():
    config = DetectorSettings()
    reference = BenignReference(config)
    for i in range(1000):
        reference.add("coverage@64", i / 1000)
    calibration = reference.calibration("coverage@64")
    assert calibration.windows == 1000 and calibration.centre == pytest.approx(0.899, abs=1e-3)
    assert calibration.p_value(0.5) == pytest.approx(0.5, abs=0.01)
    p = [calibration.p_value(x) for x in (0.95, 1.0, 1.2, 2.0)]
    assert p == sorted(p, reverse=True) and p[0] < 0.1 and p[-1] < 1e-6
    # Too few windows: the prior stands in.
    assert BenignReference(config).calibration("coverage@64").windows == 0


def test_effective_classes_and_the_binomial_tail():
    assert effective_classes({"a": 10}) == pytest.approx(1.0)
    assert effective_classes({c: 1 for c in CLASSES}) == pytest.approx(45.0)
    assert binomial_tail(10, 0, 0.05) == pytest.approx(1.0)
    assert binomial_tail(4, 4, 0.5) == pytest.approx(1 / 16)


def test_a_ring_of_keys_each_under_the_per_client_tests_is_named_in_one_alert():
    config = DetectorSettings()
    detector = ClientDetector(config)
    rings = RingLinker(config, detector.reference)
    alerts = []
    for member in range(8):  # 8 keys x 60 queries: each under the smallest window, each spread out
        for i in range(60):
            alert, profile = detector.observe(_event(f"key{member}", member * 1000 + i, CLASSES[(member * 7 + i) % 45],
                                                     network="203.0.113.0/24"))
            assert alert is None
            if profile is not None and (ring_alert := rings.observe(profile)) is not None:
                alerts.append(ring_alert)
    assert alerts and alerts[0].status == "open" and alerts[0].ring
    assert alerts[-1].client_ids == [f"key{m}" for m in range(8)]  # grew to the whole ring
    assert {a.alert_id for a in alerts} == {alerts[0].alert_id}
    assert "ring_coverage" in alerts[-1].explanation


def _ordinary_reference(detector: ClientDetector) -> None:
    """Single clients the reference learns from: niche users, and a few who look all over the domain."""
    for member in range(60):
        spread = 45 if member % 10 == 0 else 2
        for i in range(64):
            detector.observe(_event(f"user{member}", 100_000 + member * 1000 + i,
                                    CLASSES[(member * 5 + (i * 7 if spread == 45 else i % 2)) % 45],
                                    network=f"10.{member}.0.0/24"))


@pytest.mark.parametrize(("keys", "ring"), [(25, True), (4, False)])
def test_keys_too_small_for_any_window_are_a_ring_only_when_many_are_linked(keys: int, ring: bool):
    """A low-and-slow ring: each key asks 12 questions all over the domain, from five /24s of one
    provider's block and one script (user agent). Each key is like an ordinary browsing user; what
    gives them away is how many such keys are linked. A few users of one app in one block are not."""
    config = DetectorSettings()
    detector = ClientDetector(config)
    _ordinary_reference(detector)
    rings = RingLinker(config, detector.reference)
    alerts = []
    for i in range(12):
        for member in range(keys):
            alert, profile = detector.observe(_event(
                f"key{member:02d}", member * 1000 + i, CLASSES[(member * 11 + i * 7) % 45],
                network=f"100.100.{member % 5}.0/24", agent="python-httpx/0.27"))
            assert alert is None  # no key alone
            if profile is not None and (ring_alert := rings.observe(profile)) is not None:
                alerts.append(ring_alert)
    if ring:
        assert alerts and alerts[-1].client_ids == [f"key{m:02d}" for m in range(keys)]
        assert {a.alert_id for a in alerts} == {alerts[0].alert_id}
    else:
        assert alerts == []


def test_niche_clients_behind_one_network_are_not_a_ring():
    config = DetectorSettings()
    detector = ClientDetector(config)
    rings = RingLinker(config, detector.reference)
    for member in range(12):  # a company's apps behind one NAT, each in its own niche
        for i in range(200):
            _, profile = detector.observe(_event(f"app{member}", member * 1000 + i, CLASSES[(member * 3 + i % 2) % 45],
                                                 network="198.51.100.0/24"))
            assert profile is None or rings.observe(profile) is None


def test_detector_state_survives_a_checkpoint():
    config = DetectorSettings()
    detector = ClientDetector(config)
    events = [_event("thief", i, CLASSES[i % 45], network="198.51.100.0/24") for i in range(120)]
    for event in events[:50]:
        detector.observe(event)
    restored = ClientDetector(config)
    restored.clients = {key: ClientState.from_json(state.to_json()) for key, state in detector.clients.items()}
    # The restored detector goes on exactly as the original: the same alert at the same query.
    for event in events[50:]:
        a, _ = detector.observe(event)
        b, _ = restored.observe(event)
        assert (a is None) == (b is None)
        assert a is None or a.model_dump(exclude={"time"}) == b.model_dump(exclude={"time"})
    reference = BenignReference(config)
    reference.load_json(detector.reference("m").to_json())
    assert reference.values.keys() == detector.reference("m").values.keys()
    linker = RingLinker(config, detector.reference)
    profile = ClientProfile(client_id="x", model="m", window_start=START, time=START, queries=5, n_classes=45,
                            class_counts={"c1": 5}, near_duplicate_rate=0.0, full_distribution_rate=0.0,
                            networks=["10.0.0.0/24"])
    linker.observe(profile)
    other = RingLinker(config, detector.reference)
    assert other.load_json(linker.to_json()) == {"m"}
    assert other.profiles == linker.profiles and other.index == linker.index
    # Per model: a partition of detector.profiles carries its own models' state, and gives it up whole.
    linker.observe(profile.model_copy(update={"model": "n"}))
    assert {p["model"] for p in linker.to_json({"n"})["profiles"]} == {"n"}
    linker.drop({"m"})
    assert set(linker.profiles) == {"n"} and all(model == "n" for model, _ in linker.index)


def test_a_profile_gone_idle_leaves_no_link_behind():
    """A week of one-off /24s and templates: each group goes with its last key, not as an empty set."""
    config = DetectorSettings()
    linker = RingLinker(config, ClientDetector(config).reference)
    profile = ClientProfile(client_id="x", model="m", window_start=START, time=START, queries=5, n_classes=45,
                            class_counts={"c1": 5}, near_duplicate_rate=0.0, full_distribution_rate=0.0,
                            networks=["10.0.0.0/24"])
    linker.observe(profile)
    linker.observe(profile.model_copy(update={"networks": ["10.0.1.0/24"]}))  # it moved: its old link goes
    assert set(linker.index) == {("m", "net:10.0.1.0/24")}
    linker.sweep(START + timedelta(seconds=config.idle_s))
    assert linker.index == {} and linker.profiles == {"m": {}}


def test_answers_off_the_topic_are_measured_against_how_ordinary_topics_spread():
    rng = random.Random(5)
    references = reference_from_events([e for c in range(300) for e in _ordinary_stream(rng, f"ref-{c}", 128)],
                                       DetectorSettings())
    reference = references["m"]
    ordinary = [e.top_class for e in _ordinary_stream(rng, "someone", 64)]
    everywhere = [rng.choice(CLASSES) for _ in range(64)]
    mixed = [c if i % 2 else rng.choice(CLASSES) for i, c in enumerate(ordinary)]  # half of it anywhere
    shares = [reference.off_topic_share(classes, len(CLASSES)) for classes in (ordinary, mixed, everywhere)]
    assert shares[0] < 0.01 < 0.1 < shares[1] < shares[2], shares
    assert BenignReference(DetectorSettings()).off_topic_share(ordinary, len(CLASSES)) is None  # no reference yet


# ---- chat models: inference.generations ---------------------------------------------------------

def test_a_chat_prompt_is_known_by_its_nouns_topics_rarest_first_and_whether_it_asks_for_reasoning():
    from shared.fingerprint import asks_for_reasoning, batch_prompt_fingerprints

    (prints,) = batch_prompt_fingerprints(["For a project I'm doing, what is a tapir?"])
    assert prints["prompt_topics"] == ["animal", "act"]  # the tapir, then the project
    assert len(prints["prompt_nouns"]) == 2 and all(0 <= h < 2**16 for h in prints["prompt_nouns"])
    assert not prints["reasoning_cue"] and prints["text_minhash"]
    assert asks_for_reasoning("Solve this step-by-step please") and asks_for_reasoning("Show your work.")
    assert not asks_for_reasoning("What steps does a recipe for bread have?")


def _chat_events(plans, model: str = "teacher-lm"):
    from cli.chat_simulator import generation_events
    from shared.events import InferenceGeneration

    return [InferenceGeneration.model_validate_json(b) for b in generation_events(plans, model)]


def test_the_definition_thief_is_alerted_on_chat_traffic_and_conversations_and_niche_apps_are_not():
    from cli.chat_simulator import chat_population

    plans = chat_population(24, 1, seed=3, scale=0.5)
    plans = [p for p in plans if p.family in ("definer", "logprob-harvest", "curious", "templated-app", "trial")]
    detector = ClientDetector(DetectorSettings())
    named = {c for a in _alerts(detector, _chat_events(plans)) for c in a.client_ids}
    assert named == {p.name for p in plans if p.attacker}
    thief = next(p.name for p in plans if p.family == "definer")
    assert detector.clients[(thief, "teacher-lm")].chat and detector._templated(detector.clients[(thief, "teacher-lm")])
    # Its alerts rise to throttle, never to block: chat alerts are capped at high.
    severities = {a.severity for a in _alerts(ClientDetector(DetectorSettings()), _chat_events(plans)) if thief in a.client_ids}
    assert severities & {"medium", "high"} and "critical" not in severities
    # Each chat client meets five lead tests (reasoning for a classifier's synthetic): its budget is split five ways.
    assert len(CHAT_TESTS) == 5 and "synthetic" not in CHAT_TESTS and "reasoning" in CHAT_TESTS


def test_a_prompts_topic_is_its_rarest_new_noun_and_a_conversation_is_never_a_template():
    from cli.chat_simulator import chat_population
    from services.detector.detection import FAMILIAR, PASSAGE
    from shared.events import InferenceGeneration
    from shared.fingerprint import batch_prompt_fingerprints

    detector = ClientDetector(DetectorSettings())
    for i, text in enumerate(['Define the word "tapir" in one sentence.', 'Define the word "bread" in one sentence.',
                              'Define the word "tapir" in one sentence, again.']):
        detector.observe(InferenceGeneration(
            request_id=f"r{i}", client_id="c", model="m", model_version="1", time=START + timedelta(seconds=i),
            api="chat.completions", prompt_tokens=9, completion_tokens=9, max_tokens=9, temperature=0, top_p=1,
            latency_s=0.1, **batch_prompt_fingerprints([text])[0]))
    # The template's words are new only once (four new nouns: what a passage brings); then each
    # prompt is about its new word, or about nothing new.
    assert [item[0] for item in detector.clients[("c", "m")].windows["coverage"]] == [PASSAGE, "food", FAMILIAR]

    # A product condensing sentences of one subject: most of its prompts are passages, however many
    # of their words it has sent before (a subject's words come back, and one new noun's supersense
    # would scatter such a product over the domain).
    digest = [p for p in chat_population(16, 0, seed=4, scale=0.2) if p.family == "digest-app"][:1]
    for event in _chat_events(digest):
        detector.observe(event)
    topics = Counter(item[0] for item in detector.clients[(digest[0].name, "teacher-lm")].windows["coverage"])
    assert topics[PASSAGE] > 0.6 * sum(topics.values())

    curious = [p for p in chat_population(30, 0, seed=4) if p.family == "curious" and len(p.texts) >= 64][:1]
    for event in _chat_events(curious):
        detector.observe(event)
    state = detector.clients[(curious[0].name, "teacher-lm")]
    assert state.single_turns < state.total and not detector._templated(state)


def test_chat_client_state_survives_a_checkpoint():
    from cli.chat_simulator import chat_population

    plans = [p for p in chat_population(6, 1, seed=2, scale=0.3) if p.family == "definer"]
    detector = ClientDetector(DetectorSettings())
    for event in _chat_events(plans):
        detector.observe(event)
    key = (plans[0].name, "teacher-lm")
    restored = ClientState.from_json(detector.clients[key].to_json())
    assert restored.chat and restored.single_turns == detector.clients[key].single_turns
    assert list(restored.windows["coverage"])[-1] == list(detector.clients[key].windows["coverage"])[-1]
    assert restored.nouns == detector.clients[key].nouns and restored.prompts == detector.clients[key].prompts
    assert ClientState.from_json(json.loads(json.dumps(detector.clients[key].to_json()))).nouns == restored.nouns


def test_a_chat_plan_says_per_request_what_it_asked_for_and_how_long_the_answer_was():
    from cli.simulator import ClientPlan

    plan = ClientPlan(name="ranker", family="ranker", attacker=False, texts=["Rate: good", "Rate: bad", "Explain it"],
                      top_logprobs=[20, 20, 0], max_tokens=[1, 1, 256], answer_tokens=[1, 5, 90])
    plain = ClientPlan(name="person", family="curious", attacker=False, texts=["What is a tapir?"])
    events = {e.text_sha256: e for e in _chat_events([plan, plain])}
    ranker = sorted((e for e in events.values() if e.client_id == "ranker"), key=lambda e: e.request_id)
    assert [(e.top_logprobs, e.max_tokens, e.completion_tokens, e.finish_reasons) for e in ranker] == [
        (20, 1, 1, ["length"]), (20, 1, 1, ["length"]), (0, 256, 90, ["stop"])]  # an answer never passes max_tokens
    person = next(e for e in events.values() if e.client_id == "person")
    assert (person.top_logprobs, person.max_tokens, person.completion_tokens) == (0, 128, 32)


def test_logprobs_on_one_token_answers_score_a_label_and_on_whole_answers_harvest_them():
    import dataclasses

    from cli.chat_simulator import chat_population

    harvester = next(p for p in chat_population(8, 1, seed=3, scale=0.5) if p.family == "logprob-harvest")
    n = len(harvester.texts)
    # The same prompts at 20 alternatives, asked for one token each: how a ranker or a labeller scores.
    scorer = dataclasses.replace(harvester, name="ranker", attacker=False, top_logprobs=[20] * n, max_tokens=[1] * n,
                                 answer_tokens=[1] * n)
    detector = ClientDetector(DetectorSettings())
    _alerts(detector, _chat_events([harvester, scorer]))
    assert detector.clients[(harvester.name, "teacher-lm")].full > 0
    assert detector.clients[("ranker", "teacher-lm")].full == 0
    assert "harvesting" in detector.clients[(harvester.name, "teacher-lm")].findings
    assert "harvesting" not in detector.clients[("ranker", "teacher-lm")].findings
    # An operator who wants every logprob request counted says so.
    counting = ClientDetector(DetectorSettings(chat_harvest_min_tokens=0))
    _alerts(counting, _chat_events([scorer]))
    assert counting.clients[("ranker", "teacher-lm")].full == n


def test_a_harvester_reading_answers_a_few_tokens_at_a_time_harvests_them():
    import dataclasses

    from cli.chat_simulator import chat_population
    from shared.fingerprint import answer_tail, prompt_tails

    # What the service hashes: a prompt that ends with an answer meets that answer's tail.
    for answer in ("a large seabird", " of the family Laridae, found on coasts.\n", "tern-like"):
        assert answer_tail(answer) in prompt_tails("Describe a gull. A gull is" + answer)
        assert answer_tail(answer) not in prompt_tails("Describe a gull. A gull is" + answer + " Thanks")
    assert answer_tail("a bird") is None and prompt_tails("a bird") == []  # too short to tell from chance endings
    # A chat's tails are tied to the user message the answer followed: a continuation ("go on")
    # after the question meets it; a few-shot scorer's example label, after another example, does not.
    label = answer_tail("Negative", "The soup was cold.")
    assert label in prompt_tails("Negative", ("The soup was cold.", "go on"))
    assert label not in prompt_tails("Negative", ("Service was slow.", "The bread was stale."))
    harvester = next(p for p in chat_population(8, 1, seed=3, scale=0.5) if p.family == "continuation-harvest")
    assert harvester.continues.count(True) > len(harvester.texts) / 2 and set(harvester.max_tokens) == {7}
    # The same seven-token answers, never continued: how a ranker reads a few positions of each.
    ranker = dataclasses.replace(harvester, name="ranker", attacker=False, continues=[])
    detector = ClientDetector(DetectorSettings())
    _alerts(detector, _chat_events([harvester, ranker]))
    state = detector.clients[(harvester.name, "teacher-lm")]
    assert state.full == harvester.continues.count(True)  # each continuing request reads the answer on
    # Through chat it sends the same "Continue." each time: not a repeat, a new part of the answer.
    assert harvester.texts.count("Continue.") == state.full and state.seen["harvesting"] == len(harvester.texts)
    assert detector.clients[("ranker", "teacher-lm")].full == 0
    # The tails its next prompt may continue survive a restart.
    assert ClientState.from_json(state.to_json()).answer_tails == state.answer_tails


def _record(partition: int, offset: int):
    """What the app's handlers read of a Kafka message: its record's partition and offset."""
    return SimpleNamespace(raw_message=SimpleNamespace(partition=partition, offset=offset))


async def test_the_apps_checkpoint_holds_restored_clients_and_a_revoked_partition_stays_given_up():
    """The detector app's checkpoint functions, in process (the service's own tests run them on the
    stack): a client restored from a checkpoint is in the next one whether it asks again or not,
    and a record of a partition taken away in a rebalance, waiting meanwhile, brings nothing back."""
    from services.detector import app

    topic, partition = "inference.generations", 7
    state = ClientDetector(DetectorSettings())
    for i in range(40):
        state.observe(_event("slow", i, CLASSES[i % 45]))
    saved = {"clients": [{"client_id": "slow", "model": "m", "state": state.clients[("slow", "m")].to_json()}]}
    try:
        app.restore_clients(topic, partition, saved)
        checkpoint = json.loads(b"".join(await app.clients_of(topic, partition)))
        assert [c["client_id"] for c in checkpoint["clients"]] == ["slow"]
        assert ClientState.from_json(checkpoint["clients"][0]["state"]).total == 40

        partitions = app.PartitionState("test-topic")
        partitions.offsets[partition] = 4  # its state held here, up to offset 4
        assert await partitions.admit(_record(partition, 5), lambda state: None)
        partitions.revoked.add(partition)
        assert not await partitions.admit(_record(partition, 6), lambda state: None)
        assert partitions.offsets[partition] == 5
    finally:
        app.detector.clients.pop(("slow", "m"), None)
        app.client_partition.pop(("slow", "m"), None)
