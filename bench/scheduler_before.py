"""The scheduler as it was before issue 17, loaded from git for comparison (not copied).

`load()` reads `services/events/tandem_events/domain/scheduling*.py` at BEFORE with
`git show`, writes them into a temporary package whose imports point at each other, and
imports it. `solve()` runs its `schedule` on the part of a new `Problem` it can express:
slots, tables, availability (minus forbidden slots, persons joint), caps and accepted /
suggested requests; windows, pins, session caps, precedences and separate agendas are
dropped, and the bench counts what its result breaks of them with today's `violations`.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from tandem_events.domain.scheduling import Placement, Problem, Schedule
from tandem_events.domain.scheduling_checks import participant_slots

BEFORE = "2e9739b"  # main when issue 17's branch started
DOMAIN = "services/events/tandem_events/domain"
MODULES = (
    "scheduling",
    "scheduling_model",
    "scheduling_greedy",
    "scheduling_local",
    "scheduling_cpsat",
)
PACKAGE = "scheduler_before_17"


def load(commit: str = BEFORE) -> ModuleType:
    """The old `scheduling` module (cached per process)."""
    name = f"{PACKAGE}.scheduling"
    if name in sys.modules:
        return sys.modules[name]
    root = Path(tempfile.mkdtemp(prefix="scheduler-before-"))
    package = root / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    repo = Path(__file__).resolve().parent.parent
    for module in MODULES:
        source = subprocess.run(
            ["git", "show", f"{commit}:{DOMAIN}/{module}.py"],
            cwd=repo,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        source = source.replace("tandem_events.domain import", f"{PACKAGE} import")
        source = source.replace("tandem_events.domain.", f"{PACKAGE}.")
        (package / f"{module}.py").write_text(source)
    sys.path.insert(0, str(root))
    return importlib.import_module(name)


def solve(problem: Problem, *, time_limit_s: float, workers: int) -> Schedule:
    old = load()
    model = importlib.import_module(f"{PACKAGE}.scheduling_model")
    requests = tuple(
        model.Request(r.key, r.a, r.b, r.accepted or r.fixed_slot is not None, r.score)
        for r in problem.requests
    )
    availability = {
        participant: participant_slots(problem, participant, None)
        for participant in problem.availability
    }
    for participant in problem.separate:
        persons = problem.persons.get(participant, {})
        availability[participant] = frozenset().union(
            *(participant_slots(problem, participant, person) for person in persons)
        )
    expressed = model.Problem(
        slots=problem.slots,
        tables=problem.tables,
        availability=availability,
        caps=problem.caps,
        requests=requests,
        day_of_slot=problem.day_of_slot,
    )
    result = old.schedule(expressed, time_limit_s=time_limit_s, workers=workers)
    placements = tuple(Placement(p.key, p.a, p.b, p.slot, p.table) for p in result.placements)
    return Schedule(placements, f"before:{result.solver}", bool(result.optimal), result.value)
