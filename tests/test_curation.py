"""Curation: near-duplicates, scrubbing, confidence and class filters, stable splits, and datasets
written to the real S3 server as immutable Parquet shards with a manifest."""

from __future__ import annotations

import os

import pytest

from services.curator.curation import curate, scrub, write_dataset
from shared.datasets import read_manifest, read_split
from shared.events import Completion, CurationSpec, DistillJob, TeacherResponse
from shared.prompts import load_gold_labels, load_groups

CLASSES = ["animal", "plant", "artifact"]


def answer(seq: int, text: str, probabilities=(0.8, 0.1, 0.1), job_id: str = "job-c") -> TeacherResponse:
    return TeacherResponse(job_id=job_id, prompt_id=f"p{seq}", seq=seq, total=1000, text=text, teacher_model="teacher",
                           classes=CLASSES, probabilities=list(probabilities))


def kept_texts(curated) -> list[str]:
    return sorted(r.text for rows in curated.splits.values() for r in rows)


def test_near_duplicates_are_removed_at_the_job_threshold_and_distinct_texts_kept():
    base = "a domesticated carnivorous mammal that typically has a long snout and an acute sense of smell"
    near = [base.replace("long", "longish"), base + ".", base.replace("acute", "keen")]
    distinct = ["a tall perennial woody plant having a main trunk and branches",
                "a device that requires skill for proper use",
                "a domesticated mammal kept for its milk and its meat"]  # shares words with base, not shingles
    responses = [answer(i, t) for i, t in enumerate([base, *near, *distinct])]
    curated = curate(responses, CurationSpec(near_duplicate_threshold=0.7))
    assert curated.dropped == {"near_duplicate": 3}
    assert kept_texts(curated) == sorted([base, *distinct])
    # The threshold is the job's: None keeps near-duplicates (exact ones always go).
    loose = curate([*responses, answer(99, base.upper())], CurationSpec(near_duplicate_threshold=None))
    assert loose.dropped == {"duplicate": 1} and len(kept_texts(loose)) == 7


def test_secrets_and_contact_details_are_scrubbed_before_anything_is_stored():
    text = ("mail jane.doe@example.com or call +1 415-555-0134, key sk-proj-AbCdEf0123456789XyZ_abcd "
            "and AKIAABCDEFGHIJKLMNOP; a 1990 vintage of 12 bottles")
    clean, found = scrub(text)
    assert sorted(found) == ["api_key", "email", "phone"]
    for secret in ("jane.doe@example.com", "415-555-0134", "sk-proj-AbCdEf0123456789XyZ_abcd", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in clean
    assert "[EMAIL]" in clean and "[PHONE]" in clean and clean.count("[API_KEY]") == 2
    assert "a 1990 vintage of 12 bottles" in clean  # ordinary numbers are left alone
    curated = curate([answer(0, text)], CurationSpec())
    assert curated.scrubbed == {"api_key": 1, "email": 1, "phone": 1}
    assert "jane.doe" not in kept_texts(curated)[0]


def test_unsure_answers_and_surplus_classes_are_dropped():
    sure = [answer(i, f"sure text number {i} about animals") for i in range(30)]
    unsure = [answer(100 + i, f"unsure text number {i}", (0.4, 0.35, 0.25)) for i in range(5)]
    plants = [answer(200 + i, f"plant text number {i}", (0.1, 0.8, 0.1)) for i in range(5)]
    spec = CurationSpec(near_duplicate_threshold=None, min_confidence=0.5, max_per_class=10, val_fraction=0, test_fraction=0)
    curated = curate(sure + unsure + plants, spec)
    assert curated.dropped == {"low_confidence": 5, "class_cap": 20}
    labels = [CLASSES[max(range(3), key=lambda c: r.response.probabilities[c])] for r in curated.splits["train"]]
    assert labels.count("animal") == 10 and labels.count("plant") == 5
    # The same rows survive the cap on every run.
    again = curate(sure + unsure + plants, spec)
    assert [r.text for r in again.splits["train"]] == [r.text for r in curated.splits["train"]]
    by_entropy = curate(unsure, CurationSpec(max_entropy=0.5))
    assert by_entropy.dropped == {"low_confidence": 5}


@pytest.mark.stack
def test_datasets_are_stable_across_runs_sharded_immutable_and_carry_gold_labels(store):
    texts = [f"gloss {i}: something distinctive number {i * 7919 % 10007}" for i in range(400)]
    body = "".join(f'{{"id": "p{i}", "text": "{t}", "label": "{CLASSES[i % 3]}"}}\n' for i, t in enumerate(texts))
    uri = store.put_bytes(f"prompts/curation-{os.urandom(3).hex()}.jsonl", body.encode())
    gold = load_gold_labels(DistillJob(job_id="j", name="j", prompts_uri=uri, label_field="label"), store)
    assert gold["p4"] == "plant" and len(gold) == 400
    spec = CurationSpec(shard_rows=100)
    lineage = {"prompts_uri": uri, "teacher": {"model": "teacher"}}
    splits = {}
    for run in ("a", "b"):
        job_id = f"job-stable-{run}-{os.urandom(3).hex()}"
        # The second run gets its responses in another order, as a replay or another job might.
        responses = [answer(i, t, job_id=job_id) for i, t in enumerate(texts)]
        event, written = write_dataset(store, job_id, responses if run == "a" else responses[::-1], spec, lineage, gold)
        assert written
        manifest = read_manifest(store, event.uri)
        assert len(manifest["files"]["train"]) == 3 and manifest["counts"]["train"] == event.counts["train"]
        assert manifest["lineage"] == lineage and manifest["gold_labels"] == sum(event.counts.values())
        assert sum(manifest["teacher_label_counts"]["test"].values()) == event.counts["test"]
        splits[run] = {name: sorted(read_split(store, event.uri, name).column("text").to_pylist())
                       for name in ("train", "val", "test")}
        table = read_split(store, event.uri, "test")
        assert table.column("gold_label").to_pylist() == [gold[p] for p in table.column("prompt_id").to_pylist()]
    assert splits["a"] == splits["b"]
    assert sum(len(v) for v in splits["a"].values()) == 400 - sum(event.dropped.values())
    # Announced datasets are immutable: writing the job again changes nothing.
    before = store.get_bytes(f"{event.uri}/manifest.json")
    again, written = write_dataset(store, job_id, [answer(0, "something new", job_id=job_id)], spec, lineage)
    assert not written and again.counts == event.counts and store.get_bytes(f"{event.uri}/manifest.json") == before


# ---- generative teachers -----------------------------------------------------------------------

def generation(seq: int, prompt: str, answer_text: str, finish_reason: str = "stop",
               job_id: str = "job-g") -> TeacherResponse:
    words = [f" {w}" if i else w for i, w in enumerate(answer_text.split(" "))]
    tokens = [w.encode().hex() for w in words]
    return TeacherResponse(
        job_id=job_id, prompt_id=f"g{seq}", seq=seq, total=1000, text=prompt, teacher_model="teacher-lm",
        completion=Completion(text=answer_text, finish_reason=finish_reason, tokens=tokens,
                              logprobs=[-0.1] * len(tokens), top_tokens=[[t, b" the".hex()] for t in tokens],
                              top_logprobs=[[-0.1, -2.5]] * len(tokens)))


def test_generative_answers_that_would_teach_the_wrong_thing_are_dropped():
    good = "A sheltered port where ships can find refuge."
    responses = [
        generation(0, "Define harbor.", good),
        generation(1, "Define lantern.", "A light with a", finish_reason="length"),
        generation(2, "Define anchor.", " "),
        generation(3, "Define weapon.", "I'm sorry, but I can't help with that."),
        generation(4, "Define loop.", "a loop of a loop of a loop of a loop of a loop of a loop"),
        generation(5, "Define contact.", "Write to help@example.com for a definition."),
        generation(6, "Define sail.", "A piece of fabric that catches the wind to move a boat."),
    ]
    curated = curate(responses, CurationSpec(near_duplicate_threshold=None, val_fraction=0, test_fraction=0))
    assert curated.dropped == {"truncated": 1, "empty_answer": 1, "refusal": 1, "repetitive": 1, "pii_in_answer": 1}
    assert sorted(r.response.completion.text for r in curated.splits["train"]) == sorted(
        [good, "A piece of fabric that catches the wind to move a boat."])
    kept = curate(responses[1:2], CurationSpec(keep_truncated=True, val_fraction=0, test_fraction=0))
    assert not kept.dropped  # a job may keep cut answers on purpose


def test_generative_datasets_keep_every_position_split_by_group_with_token_ids(store):
    # Every phrasing about one word lands in one split: nothing is learnt about a test word.
    lemmas = [f"word{i}" for i in range(60)]
    phrasings = ["Define {}.", "What does {} mean?", "Give the meaning of {} in one sentence."]
    rows = [(f"p{i}-{j}", phrasing.format(lemma), lemma) for i, lemma in enumerate(lemmas)
            for j, phrasing in enumerate(phrasings)]
    body = "".join(f'{{"id": "{pid}", "text": "{text}", "lemma": "{lemma}", "gloss": "gloss of {lemma}"}}\n'
                   for pid, text, lemma in rows)
    uri = store.put_bytes(f"prompts/generative-{os.urandom(3).hex()}.jsonl", body.encode())
    job = DistillJob(job_id="j", name="j", prompts_uri=uri, label_field="gloss", group_field="lemma")
    groups, gold = load_groups(job, store), load_gold_labels(job, store)
    job_id = f"job-gen-{os.urandom(3).hex()}"
    responses = [generation(seq, text, f"The meaning of {lemma}, phrasing {seq % 3}.", job_id=job_id)
                 for seq, (pid, text, lemma) in enumerate(rows)]
    for response, (pid, _, _) in zip(responses, rows):
        response.prompt_id = pid
    # A word-level vocabulary stands in for a tokenizer: " the" is in it, most answer words are not.
    vocabulary = {b" the": 7, b"The": 3}
    event, written = write_dataset(store, job_id, responses, CurationSpec(near_duplicate_threshold=None), {},
                                   gold, groups, vocabulary)
    assert written and sum(event.counts.values()) == len(rows)
    manifest = read_manifest(store, event.uri)
    seen: dict[str, str] = {}
    for split in ("train", "val", "test"):
        table = read_split(store, event.uri, split).to_pylist()
        for row in table:
            assert seen.setdefault(row["group"], split) == split
            assert row["gold_label"] == f"gloss of {row['group']}"
            assert b"".join(row["completion_tokens"]).decode() == row["completion"]
            assert row["finish_reason"] == "stop" and len(row["token_logprobs"]) == len(row["completion_tokens"])
            assert [top[0] for top in row["top_tokens"]] == row["completion_tokens"]
            assert row["completion_token_ids"][0] == 3 and all(top[1] == 7 for top in row["top_token_ids"])
            assert row["top_logprobs"][0] == pytest.approx([-0.1, -2.5])
    assert len(set(seen.values())) == 3 and sum(manifest["groups"].values()) == len(lemmas)
    assert manifest["completion_tokens"]["train"] > 0
