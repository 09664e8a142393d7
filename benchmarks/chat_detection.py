"""Chat-traffic detection: the detector's chat tests on the tuning harness (cli/chat_simulator.py),
on which their settings were chosen, and on nine validation harnesses written apart, each at two
volumes: cli/chat_holdout.py (validation, whose failures have been seen in development), and
cli/chat_holdout_b.py to _i.py (validation-b to -i, each written by someone who never read the
detector; each was first run once, with the detector of that day, and recorded). The events are
those the inference service publishes for each request (`inference.generations`), replayed
through both detector stages in process, swept for quiet clients at the events' own time as the
service sweeps; the benign reference starts from an operator's sample of ordinary chat traffic
(the tuning harness's ordinary profiles, another seed), as `distillery detector reference` seeds it.

Time: validation-i's plans say when each request is sent, over a week; tuning-timed is the tuning
harness with send times over `--days` (cli.chat_simulator.with_send_times). The other harnesses
have none: every client starts at once, its requests a millisecond apart.

    .venv/bin/python -m benchmarks.chat_detection"""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable

from benchmarks.detection import replay, summary

MODEL = "teacher-lm"
HARNESSES = ("tuning", "tuning-timed", "validation", "validation-b", "validation-c", "validation-d", "validation-e",
             "validation-f", "validation-g", "validation-h", "validation-i")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The harnesses' sizes and seeds, and the operator's sample that seeds the benign reference."""
    parser.add_argument("--ordinary", type=int, default=600, help="ordinary clients of each harness")
    parser.add_argument("--attackers", type=int, default=5, help="per attack family (a ring counts once)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--holdout-seed", type=int, default=7013,
                        help="7013 was never looked at before the recorded run; 4099, 5003 and 6007 were, in development")
    parser.add_argument("--holdout-b-seed", type=int, default=9011, help="never looked at before the recorded run")
    parser.add_argument("--holdout-c-seed", type=int, default=12011, help="never looked at before the recorded run")
    parser.add_argument("--holdout-d-seed", type=int, default=15013, help="never looked at before the recorded run")
    parser.add_argument("--holdout-e-seed", type=int, default=18017, help="never looked at before the recorded run")
    parser.add_argument("--holdout-f-seed", type=int, default=21019, help="never looked at before the recorded run")
    parser.add_argument("--holdout-g-seed", type=int, default=24023, help="never looked at before the recorded run")
    parser.add_argument("--holdout-h-seed", type=int, default=27031, help="never looked at before the recorded run")
    parser.add_argument("--holdout-i-seed", type=int, default=30011, help="never looked at before the recorded run")
    parser.add_argument("--reference", type=int, default=600,
                        help="ordinary clients in the operator's sample that seeds the benign reference")
    parser.add_argument("--days", type=float, default=3.0,
                        help="tuning-timed: the tuning harness's requests spread over this many days")


def populations(args: argparse.Namespace) -> dict[str, tuple[Callable[..., list], int]]:
    """Each harness: what makes its clients' plans (ordinary, attackers, seed, volume), and its seed."""
    from cli.chat_holdout import chat_holdout_population
    from cli.chat_holdout_b import chat_holdout_b_population
    from cli.chat_holdout_c import chat_holdout_c_population
    from cli.chat_holdout_d import chat_holdout_d_population
    from cli.chat_holdout_e import chat_holdout_e_population
    from cli.chat_holdout_f import chat_holdout_f_population
    from cli.chat_holdout_g import chat_holdout_g_population
    from cli.chat_holdout_h import chat_holdout_h_population
    from cli.chat_holdout_i import chat_holdout_i_population
    from cli.chat_simulator import chat_population, with_send_times

    def timed_tuning(ordinary: int, attackers: int, seed: int, volume: float) -> list:
        return with_send_times(chat_population(ordinary, attackers, seed, volume), seed, args.days)

    return {"tuning": (chat_population, args.seed), "tuning-timed": (timed_tuning, args.seed),
            "validation": (chat_holdout_population, args.holdout_seed),
            "validation-b": (chat_holdout_b_population, args.holdout_b_seed),
            "validation-c": (chat_holdout_c_population, args.holdout_c_seed),
            "validation-d": (chat_holdout_d_population, args.holdout_d_seed),
            "validation-e": (chat_holdout_e_population, args.holdout_e_seed),
            "validation-f": (chat_holdout_f_population, args.holdout_f_seed),
            "validation-g": (chat_holdout_g_population, args.holdout_g_seed),
            "validation-h": (chat_holdout_h_population, args.holdout_h_seed),
            "validation-i": (chat_holdout_i_population, args.holdout_i_seed)}


@functools.cache
def reference_sample(clients: int) -> tuple:
    """The operator's sample of ordinary chat traffic: the tuning harness's ordinary profiles, seed 11."""
    from cli.chat_simulator import chat_population, generation_events
    from shared.events import InferenceGeneration

    return tuple(InferenceGeneration.model_validate_json(b)
                 for b in generation_events(chat_population(clients, 0, seed=11), MODEL, seed=11))


def replayed(plans: list, args: argparse.Namespace) -> tuple[list[bytes], list, dict[str, float]]:
    """The plans' events, replayed through both detector stages as the service runs them (chat alerts
    capped at throttle, DETECTOR_CHAT_MAX_SEVERITY=high), the benign reference seeded from the
    operator's sample (the tuning harness's ordinary profiles at seed 11): (events, alerts, risks)."""
    from cli.chat_simulator import generation_events
    from services.detector.detection import DetectorSettings, reference_from_events
    from shared.events import InferenceGeneration

    payloads = generation_events(plans, MODEL)
    alerts, risks = replay(payloads, config=DetectorSettings(),
                           references=reference_from_events(reference_sample(args.reference), DetectorSettings()),
                           event_type=InferenceGeneration)
    return payloads, alerts, risks


def main() -> None:
    from cli.simulator import evaluate

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.add_argument("--volumes", default="1.0,0.5")
    parser.add_argument("--only", choices=HARNESSES, help="one harness")
    args = parser.parse_args()
    harnesses = populations(args)
    rows = []
    for volume in (float(v) for v in args.volumes.split(",")):
        for name in HARNESSES:
            if args.only and name != args.only:
                continue
            make, seed = harnesses[name]
            plans = make(args.ordinary, args.attackers, seed, volume)
            started = time.perf_counter()
            payloads, alerts, risks = replayed(plans, args)
            evaluation = evaluate(plans, alerts, risks)
            print(f"\n{name} harness at volume {volume}: {len(plans)} clients, {len(payloads)} requests, "
                  f"made and replayed in {time.perf_counter() - started:.1f} s; {len(alerts)} alert events", flush=True)
            print("\n".join(evaluation.lines()), flush=True)
            rows.append((name, volume, evaluation))
    print("\n" + "\n".join(summary(rows)))


if __name__ == "__main__":
    main()
