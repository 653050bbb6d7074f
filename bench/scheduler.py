"""Meeting scheduler on generated matching events: `schedule` against the greedy baseline.

Events of N participants x 12 slots (one day): each participant sends 3-8 requests to
random others (one per pair), 25% of them accepted (the others are matcher suggestions),
mutual scores ~ Beta(2, 3); availability 70-100% of the slots (late arrival / early leave
plus a few random holes); caps 4-8; tables = N/3 so tables bind.

Per solver: wall time, value as a fraction of an upper bound (the LP relaxation of the
same model without the gap penalty, solved with GLOP), plain/UB (score + base of the
meetings minus gap penalty, over the LP bound of score + base alone), meetings, min and
median meetings per participant, idle gaps, accepted placed / accepted total, participants
with a placeable request left without a meeting. Then repair after one withdrawal (the
participant with the most meetings) and after a new accepted request between two busy
participants: the stages used, meetings moved, dropped (withdrawn ones excluded), added,
and time.

    .venv/bin/python bench/scheduler.py                  # 100, 500, 1000 participants
    .venv/bin/python bench/scheduler.py 100 --limit 5    # one size, time limit 5 s
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from ortools.linear_solver import pywraplp

from tandem_events.domain.scheduling import (
    Problem,
    Request,
    Schedule,
    greedy_schedule,
    moved,
    participant_gaps,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.scheduling_model import (
    ACCEPTED,
    FAIRNESS,
    GAP,
    SCALE,
    Instance,
    meeting_units,
)

SLOTS = 12


def generate(participants: int, seed: int = 7) -> Problem:
    rng = random.Random(seed)
    people = [f"p{i}" for i in range(participants)]
    availability = {}
    for person in people:
        slots = list(range(SLOTS))
        keep = round(SLOTS * rng.uniform(0.7, 1.0))
        while len(slots) > keep:
            # Mostly late arrivals and early departures, sometimes a hole in the day.
            roll = rng.random()
            index = 0 if roll < 0.4 else -1 if roll < 0.8 else rng.randrange(len(slots))
            slots.pop(index)
        availability[person] = frozenset(slots)
    pairs: set[frozenset[str]] = set()
    requests: list[Request] = []
    for person in people:
        for _ in range(rng.randint(3, 8)):
            other = rng.choice(people)
            pair = frozenset((person, other))
            if other == person or pair in pairs:
                continue
            pairs.add(pair)
            requests.append(
                Request(
                    key=f"r{len(requests)}",
                    a=person,
                    b=other,
                    accepted=rng.random() < 0.25,
                    score=round(rng.betavariate(2, 3), 3),
                )
            )
    return Problem(
        slots=tuple(range(SLOTS)),
        tables=tuple(f"T{i + 1}" for i in range(max(1, participants // 3))),
        availability=availability,
        caps={person: rng.randint(4, 8) for person in people},
        requests=tuple(requests),
    )


def lp_upper_bound(problem: Problem, *, priorities: bool = True) -> float:
    """LP relaxation of the objective without gaps (gaps only subtract): an upper bound.
    Without `priorities`: of the meetings' own value (score + base) alone."""
    instance = Instance(problem)
    solver = pywraplp.Solver.CreateSolver("GLOP")
    objective = solver.Objective()
    at: dict[tuple[str, int], list[pywraplp.Variable]] = {}
    per_slot: dict[int, list[pywraplp.Variable]] = {}
    per_person: dict[str, list[pywraplp.Variable]] = {}
    for request in instance.requests:
        options = []
        for slot in instance.common[request.key]:
            var = solver.NumVar(0, 1, "")
            units = meeting_units(request) - (ACCEPTED if request.accepted else 0)
            objective.SetCoefficient(
                var, units + (ACCEPTED if priorities and request.accepted else 0)
            )
            options.append(var)
            per_slot.setdefault(slot, []).append(var)
            for person in (request.a, request.b):
                at.setdefault((person, slot), []).append(var)
                per_person.setdefault(person, []).append(var)
        solver.Add(sum(options) <= 1)
    for options in at.values():
        solver.Add(sum(options) <= 1)
    for options in per_slot.values():
        solver.Add(sum(options) <= len(instance.tables))
    for person, options in per_person.items():
        solver.Add(sum(options) <= instance.cap[person])
        covered = solver.NumVar(0, 1, "")
        solver.Add(covered <= sum(options))
        objective.SetCoefficient(covered, FAIRNESS if priorities else 0)
    objective.SetMaximization()
    solver.Solve()
    return float(objective.Value()) / SCALE


def meetings_value(problem: Problem, result: Schedule) -> float:
    """Score + base of the placed meetings minus the gap penalty, without priorities."""
    instance = Instance(problem)
    units = sum(meeting_units(instance.by_key[p.key]) for p in result.placements)
    units -= sum(1 for p in result.placements if instance.by_key[p.key].accepted) * ACCEPTED
    units -= GAP * sum(participant_gaps(problem, result).values())
    return units / SCALE


def describe(
    problem: Problem, result: Schedule, seconds: float, bound: float, plain_bound: float
) -> list[str]:
    assert violations(problem, result) == [], violations(problem, result)
    instance = Instance(problem)
    meetings: Counter[str] = Counter()
    for placement in result.placements:
        meetings[placement.a] += 1
        meetings[placement.b] += 1
    placeable = sorted(instance.of_participant)
    counts = [meetings[person] for person in placeable]
    accepted = {r.key for r in instance.requests if r.accepted}
    placed_accepted = sum(1 for p in result.placements if p.key in accepted)
    return [
        result.solver + (" (opt)" if result.optimal else ""),
        f"{seconds:.2f}",
        f"{result.value / bound:.4f}",
        f"{meetings_value(problem, result) / plain_bound:.4f}",
        str(len(result.placements)),
        str(min(counts)),
        f"{statistics.median(counts):g}",
        str(sum(participant_gaps(problem, result).values())),
        f"{placed_accepted}/{len(accepted)}",
        str(sum(1 for c in counts if c == 0)),
    ]


def withdraw(problem: Problem, person: str) -> Problem:
    return replace(
        problem,
        availability={p: s for p, s in problem.availability.items() if p != person},
        requests=tuple(r for r in problem.requests if person not in (r.a, r.b)),
    )


def accept(problem: Problem, pair: tuple[str, str]) -> Problem:
    request = Request(f"new:{pair[0]}-{pair[1]}", pair[0], pair[1], accepted=True, score=0.5)
    return replace(problem, requests=(*problem.requests, request))


def new_acceptance(problem: Problem, result: Schedule) -> tuple[str, str]:
    """Two busy participants (so the new meeting must push something) with no request yet."""
    meetings = Counter(x for p in result.placements for x in (p.a, p.b))
    pairs = {frozenset((r.a, r.b)) for r in problem.requests}
    busy = [person for person, _ in meetings.most_common()]
    for i, a in enumerate(busy):
        for b in busy[i + 1 :]:
            common = problem.availability[a] & problem.availability[b]
            if frozenset((a, b)) not in pairs and len(common) > len(problem.slots) // 2:
                return a, b
    raise ValueError("no free pair")


def repaired(after: Problem, previous: Schedule, limit: float) -> list[str]:
    """Repair figures: solver, moved, dropped (still-valid previous meetings lost), added."""
    fixed, seconds = timed(lambda: repair(after, previous, time_limit_s=limit))
    keys = {r.key for r in after.requests}
    kept = {p.key for p in fixed.placements}
    dropped = sum(1 for p in previous.placements if p.key in keys and p.key not in kept)
    before_keys = {p.key for p in previous.placements}
    added = sum(1 for key in kept if key not in before_keys)
    figures = [fixed.solver, moved(previous, fixed), dropped, added, f"{seconds:.2f}"]
    figures.append(violations(after, fixed) == [])
    return [str(figure) for figure in figures]


def timed(run: Callable[[], Schedule]) -> tuple[Schedule, float]:
    start = time.perf_counter()
    result = run()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[100, 500, 1000])
    parser.add_argument(
        "--limit", type=float, default=10.0, help="schedule time limit (s); repair gets half"
    )
    args = parser.parse_args()
    header = [
        "N",
        "requests",
        "solver",
        "time s",
        "value/UB",
        "plain/UB",
        "meetings",
        "min",
        "median",
    ]
    header += ["gaps", "accepted", "uncovered"]
    rows = [header]
    repairs = [["N", "change", "lost", "solver", "moved", "dropped", "added", "repair s", "valid"]]
    for size in args.sizes:
        problem = generate(size)
        bound = lp_upper_bound(problem)
        plain = lp_upper_bound(problem, priorities=False)
        base = [str(size), str(len(problem.requests))]
        greedy, greedy_s = timed(lambda: greedy_schedule(problem))  # noqa: B023
        rows.append(base + describe(problem, greedy, greedy_s, bound, plain))
        best, best_s = timed(lambda: schedule(problem, time_limit_s=args.limit))  # noqa: B023
        rows.append(base + describe(problem, best, best_s, bound, plain))
        per_person = Counter(x for p in best.placements for x in (p.a, p.b))
        person = per_person.most_common(1)[0][0]
        lost = sum(1 for p in best.placements if person in (p.a, p.b))
        figures = repaired(withdraw(problem, person), best, args.limit / 2)
        repairs.append([str(size), f"withdraw {person}", str(lost), *figures])
        pair = new_acceptance(problem, best)
        figures = repaired(accept(problem, pair), best, args.limit / 2)
        repairs.append([str(size), f"accept {pair[0]}-{pair[1]}", "0", *figures])
    for table in (rows, repairs):
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        print()


if __name__ == "__main__":
    main()
