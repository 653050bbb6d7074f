"""Meeting scheduler: today's solver against the greedy baseline and the solver before
issue 17, in the same run.

forum (bench/scheduler_forum.py: forum-like B2B events, every meeting requested and to be
placed): per instance and solver, meetings placed / total, breaks, idle slots, the proven
lower bound on breaks and the gap to it (for schedules placing everything; the bound is
today's solver's and holds for any schedule), violations of the full model, wall time and
CPU seconds; then the distributions of gaps and times.

scale: a random event of N participants x 12 slots (3-8 requests each, 25 % accepted,
suggestions scored ~ Beta(2, 3), availability 70-100 %, caps 4-8, N/3 tables).

repair: on forum events, after the busiest business withdraws and after a new accepted
request between two busy businesses: meetings moved, dropped (still valid ones lost),
added, time, validity.

The machine is shared: each section prints the load average, and CPU seconds beside wall
time show how much of a core a run got.

    .venv/bin/python -m bench.scheduler forum --count 10 --workers 1
    .venv/bin/python -m bench.scheduler forum --variants sessions --count 5 --limit 10
    .venv/bin/python -m bench.scheduler scale --participants 2000 --workers 1
    .venv/bin/python -m bench.scheduler repair --count 3 --workers 1
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

from bench import scheduler_before
from bench.scheduler_forum import VARIANTS, forum
from tandem_events.domain.scheduling import (
    Problem,
    Request,
    Schedule,
    agenda_costs,
    greedy_schedule,
    moved,
    repair,
    schedule,
    violations,
)
from tandem_events.domain.scheduling_checks import participant_slots
from tandem_events.domain.scheduling_instance import Instance

Solver = Callable[[Problem], Schedule]


@dataclass
class Run:
    solver: str
    result: Schedule
    wall: float
    cpu: float


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(name: str, solve: Callable[[], Schedule]) -> Run:
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = solve()
    return Run(name, result, time.perf_counter() - wall, cpu_seconds() - cpu)


def solvers(args: argparse.Namespace) -> dict[str, Callable[[Problem], Schedule]]:
    limit, workers = args.limit, args.workers
    found: dict[str, Callable[[Problem], Schedule]] = {
        "greedy": greedy_schedule,
        "before": lambda p: scheduler_before.solve(p, time_limit_s=limit, workers=workers),
        "new": lambda p: schedule(p, time_limit_s=limit, workers=workers),
    }
    return {name: found[name] for name in args.solvers.split(",")}


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def table(rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for row in cells:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(flush=True)


# --------------------------------------------------------------------------- forum


@dataclass
class Figures:
    placed: int
    total: int
    breaks: int
    idle: int
    broken: int  # violated rules of the full model


def figures(problem: Problem, result: Schedule) -> Figures:
    instance = Instance(problem)
    costs = agenda_costs(problem, result).values()
    return Figures(
        placed=len(result.placements),
        total=len(instance.original),
        breaks=sum(breaks for breaks, _ in costs),
        idle=sum(idle for _, idle in costs),
        broken=len(violations(problem, result)),
    )


FORUM_HEADER = "variant seed firms meetings tables slots solver placed breaks LB gap idle broken"
FORUM_HEADER += " proof_s wall_s cpu_s"
Outcomes = dict[str, list[tuple[Figures, Run, int | None]]]


def forum_bench(args: argparse.Namespace) -> None:
    print(
        f"forum: {args.count} instances per variant, limit {args.limit} s, "
        f"{args.workers} worker(s); {load()}"
    )
    rows: list[list[object]] = [list(FORUM_HEADER.split())]
    runs: Outcomes = {}
    for variant in args.variants.split(","):
        for seed in range(args.first_seed, args.first_seed + args.count):
            rows += forum_instance(args, variant, seed, runs)
        print(f"  {variant} done; {load()}", flush=True)
    table(rows)
    summary(runs)
    print(load())


def forum_instance(
    args: argparse.Namespace, variant: str, seed: int, runs: Outcomes
) -> list[list[object]]:
    """Every solver on one instance: its rows, and its figures added to `runs`."""
    problem = forum(seed, variant)
    done = [timed(name, partial(solve, problem)) for name, solve in solvers(args).items()]
    bounds = [r.result.quality.breaks_bound for r in done if r.solver == "new" and r.result.quality]
    bound = bounds[0] if bounds else None
    head = [variant, seed, len(problem.availability), len(problem.requests)]
    head += [len(problem.tables), len(problem.slots)]
    rows: list[list[object]] = []
    for run in done:
        found = figures(problem, run.result)
        complete = bound is not None and found.placed == found.total
        gap = found.breaks - bound if complete and bound is not None else None
        runs.setdefault(run.solver, []).append((found, run, gap))
        quality = run.result.quality
        proof = quality.proof_s if quality and quality.proof_s is not None else "-"
        rows.append(
            [
                *head,
                run.solver,
                f"{found.placed}/{found.total}",
                found.breaks,
                "-" if bound is None else bound,
                "-" if gap is None else gap,
                found.idle,
                found.broken,
                proof,
                f"{run.wall:.1f}",
                f"{run.cpu:.1f}",
            ]
        )
    return rows


def summary(runs: Outcomes) -> None:
    rows: list[list[object]] = [
        [
            "solver",
            "instances",
            "all placed",
            "gap 0",
            "gaps",
            "breaks",
            "idle",
            "broken",
            "wall median/p90/max",
            "proof median/p90/max",
        ]
    ]
    for solver, found in runs.items():
        gaps = Counter(gap if gap is not None else "unplaced" for _, _, gap in found)
        walls = sorted(run.wall for _, run, _ in found)
        proofs = sorted(
            run.result.quality.proof_s
            for _, run, _ in found
            if run.result.quality and run.result.quality.proof_s is not None
        )
        rows.append(
            [
                solver,
                len(found),
                sum(1 for f, _, _ in found if f.placed == f.total),
                gaps.get(0, 0),
                " ".join(
                    f"{gap}:{n}" for gap, n in sorted(gaps.items(), key=lambda item: str(item[0]))
                ),
                sum(f.breaks for f, _, _ in found),
                sum(f.idle for f, _, _ in found),
                sum(f.broken for f, _, _ in found),
                spread(walls),
                spread(proofs) + f" ({len(proofs)} proven)",
            ]
        )
    table(rows)


def spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return f"{statistics.median(values):.1f}/{p90:.1f}/{values[-1]:.1f}"


# --------------------------------------------------------------------------- scale

SCALE_SLOTS = 12


def random_event(participants: int, seed: int = 7) -> Problem:
    """A random event: 3-8 requests per participant (one per pair), 25 % accepted,
    availability 70-100 % (late arrival, early leave, a hole now and then), caps 4-8."""
    rng = random.Random(seed)
    people = [f"p{i}" for i in range(participants)]
    availability = {}
    for person in people:
        slots = list(range(SCALE_SLOTS))
        keep = round(SCALE_SLOTS * rng.uniform(0.7, 1.0))
        while len(slots) > keep:
            roll = rng.random()
            slots.pop(0 if roll < 0.4 else -1 if roll < 0.8 else rng.randrange(len(slots)))
        availability[person] = frozenset(slots)
    pairs: set[frozenset[str]] = set()
    requests: list[Request] = []
    for person in people:
        for _ in range(rng.randint(3, 8)):
            other = rng.choice(people)
            pair = frozenset((person, other))
            if other != person and pair not in pairs:
                pairs.add(pair)
                accepted = rng.random() < 0.25
                score = round(rng.betavariate(2, 3), 3)
                requests.append(Request(f"r{len(requests)}", person, other, accepted, score))
    return Problem(
        slots=tuple(range(SCALE_SLOTS)),
        tables=tuple(f"T{i + 1}" for i in range(max(1, participants // 3))),
        availability=availability,
        caps={person: rng.randint(4, 8) for person in people},
        requests=tuple(requests),
    )


def scale_bench(args: argparse.Namespace) -> None:
    problem = random_event(args.participants)
    print(
        f"scale: {args.participants} participants x {SCALE_SLOTS} slots, "
        f"{len(problem.requests)} requests, limit {args.limit} s; {load()}"
    )
    instance = Instance(problem)
    accepted = sum(1 for key in instance.original if instance.must(key))
    rows: list[list[object]] = [
        [
            "solver",
            "meetings",
            "accepted",
            "covered",
            "uncovered",
            "breaks",
            "idle",
            "broken",
            "wall s",
            "cpu s",
        ]
    ]
    for name, solve in solvers(args).items():
        run = timed(name, partial(solve, problem))
        found = figures(problem, run.result)
        met = {x for p in run.result.placements for x in (p.a, p.b)}
        placed_accepted = sum(1 for p in run.result.placements if instance.must(p.key))
        rows.append(
            [
                name,
                found.placed,
                f"{placed_accepted}/{accepted}",
                len(met),
                len(set(instance.participants) - met),
                found.breaks,
                found.idle,
                found.broken,
                f"{run.wall:.1f}",
                f"{run.cpu:.1f}",
            ]
        )
    table(rows)
    print(load())


# --------------------------------------------------------------------------- repair


def withdraw(problem: Problem, person: str) -> Problem:
    return replace(
        problem,
        availability={p: s for p, s in problem.availability.items() if p != person},
        requests=tuple(r for r in problem.requests if person not in (r.a, r.b)),
    )


def new_acceptance(problem: Problem, result: Schedule) -> Problem:
    """A new accepted request between two busy participants who had none, each with a free
    slot they may meet in but none in common: it only fits if other meetings move."""
    free = {
        person: set(participant_slots(problem, person, None))
        - {p.slot for p in result.placements if person in (p.a, p.b)}
        for person in problem.availability
    }
    pairs = {frozenset((r.a, r.b)) for r in problem.requests}
    meetings = Counter(x for p in result.placements for x in (p.a, p.b))
    busy = [person for person, _ in meetings.most_common() if free[person]]
    for i, a in enumerate(busy):
        for b in busy[i + 1 :]:
            if frozenset((a, b)) not in pairs and not free[a] & free[b]:
                request = Request(f"new:{a}-{b}", a, b, accepted=True, score=0.5)
                return replace(problem, requests=(*problem.requests, request))
    raise ValueError("no such pair")


def repair_bench(args: argparse.Namespace) -> None:
    print(f"repair: forum events, limit {args.limit} s; {load()}")
    rows: list[list[object]] = [
        [
            "variant",
            "seed",
            "change",
            "solver",
            "moved",
            "dropped",
            "added",
            "placed",
            "breaks before",
            "breaks",
            "wall s",
            "valid",
        ]
    ]
    for variant in args.variants.split(","):
        for seed in range(args.first_seed, args.first_seed + args.count):
            problem = forum(seed, variant)
            before = schedule(problem, time_limit_s=args.limit, workers=args.workers)
            busiest = Counter(x for p in before.placements for x in (p.a, p.b)).most_common(1)
            changes = {
                f"withdraw {busiest[0][0]}": withdraw(problem, busiest[0][0]),
                "new acceptance": new_acceptance(problem, before),
            }
            for change, after in changes.items():
                solve = partial(
                    repair, after, before, time_limit_s=args.limit / 2, workers=args.workers
                )
                run = timed("repair", solve)
                broke = figures(problem, before).breaks
                rows.append([variant, seed, change, *repaired(after, before, run, broke)])
    table(rows)
    print(load())


def repaired(after: Problem, before: Schedule, run: Run, broke: int) -> list[object]:
    keys = {r.key for r in after.requests}
    now = {p.key for p in run.result.placements}
    dropped = sum(1 for p in before.placements if p.key in keys and p.key not in now)
    added = sum(1 for key in now if key not in {p.key for p in before.placements})
    found = figures(after, run.result)
    return [
        run.result.solver,
        moved(before, run.result),
        dropped,
        added,
        f"{found.placed}/{found.total}",
        broke,
        found.breaks,
        f"{run.wall:.1f}",
        found.broken == 0,
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("section", choices=["forum", "scale", "repair"])
    parser.add_argument("--count", type=int, default=10, help="instances per variant")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--limit", type=float, default=10.0, help="time limit per solve (s)")
    parser.add_argument("--workers", type=int, default=1, help="CP-SAT threads")
    parser.add_argument("--solvers", default="greedy,before,new")
    args = parser.parse_args()
    {"forum": forum_bench, "scale": scale_bench, "repair": repair_bench}[args.section](args)


if __name__ == "__main__":
    main()
