"""One match: both organisations side by side, why they match, the feedback staff give
(accept, decline with a reason, met, agreement) and the other matches of each side."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from tandem_console import explain, names, web
from tandem_console.backend import ApiError, Backend
from tandem_console.feed import N_

router = APIRouter()
PAIR = re.compile(r"^[0-9a-f-]{36}:[0-9a-f-]{36}$")
OTHERS = 5
OUTCOMES = {
    "accepted": N_("Match accepted."),
    "declined": N_("Match declined."),
    "met": N_("Marked as met."),
    "agreement": N_("Agreement recorded."),
}


def _pair(pair_id: str) -> str:
    if not PAIR.match(pair_id):
        raise ApiError(404, "no such match")
    return pair_id


@router.get("/matches/{pair_id}")
async def match_page(request: Request, api: web.Api, pair_id: str) -> Response:
    return await _render(request, api, _pair(pair_id))


async def _render(
    request: Request,
    api: Backend,
    pair_id: str,
    *,
    errors: dict[str, str] | None = None,
    reason: str = "",
    status: int = 200,
) -> Response:
    match = await api.get("matcher", f"/v1/matches/{pair_id}")
    a, b = str(match["profile_a"]), str(match["profile_b"])
    others_a, others_b = await asyncio.gather(_others(api, a, pair_id), _others(api, b, pair_id))
    known = await names.profiles(
        api, [a, b, *(m["profile_id"] for m in others_a), *(m["profile_id"] for m in others_b)]
    )
    left, right = known.get(a) or {"id": a}, known.get(b) or {"id": b}
    explanation = match.get("explanation") or {}
    return await web.render(
        request,
        "match.html",
        status=status,
        nav="inbox",
        match=match,
        left=left,
        right=right,
        status_label=explain.STATUS_LABELS.get(match["status"], match["status"]),
        bars=explain.bars(match.get("components") or {}),
        flags=explain.flags(match.get("components") or {}),
        left_needs=explain.excerpt(explanation.get("a_needs_b_offers"), left, right),
        right_needs=explain.excerpt(explanation.get("b_needs_a_offers"), right, left),
        others_left=_named(others_a, known),
        others_right=_named(others_b, known),
        errors=errors or {},
        reason=reason,
    )


async def _others(api: Backend, profile_id: str, pair_id: str) -> list[dict[str, Any]]:
    """The profile's other best matches (it may no longer be visible: then none)."""
    try:
        found = await api.get("matcher", f"/v1/profiles/{profile_id}/matches", limit=OTHERS + 1)
    except ApiError:
        return []
    return [m for m in found["matches"] if m["pair_id"] != pair_id][:OTHERS]


def _named(
    matches: list[dict[str, Any]], known: dict[str, dict[str, Any] | None]
) -> list[dict[str, Any]]:
    return [{**m, "name": (known.get(str(m["profile_id"])) or {}).get("name")} for m in matches]


@router.post("/matches/{pair_id}/feedback")
async def feedback(
    request: Request,
    api: web.Api,
    lang: web.Lang,
    pair_id: str,
    outcome: Annotated[str, Form(max_length=20)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Send the staff's verdict to the matcher's feedback (it learns from it)."""
    pair_id = _pair(pair_id)
    body = {"outcome": outcome, "reason": reason.strip() or None}
    try:
        await api.post("matcher", f"/v1/matches/{pair_id}/feedback", json=body)
    except ApiError as error:
        if error.status != 422:
            raise
        errors = {"reason": lang.gettext("Say why you decline this match.")}
        if "outcome" in error.fields():
            errors = {"outcome": error.fields()["outcome"]}
        return await _render(request, api, pair_id, errors=errors, reason=reason, status=422)
    web.flash(request, lang.gettext(OUTCOMES.get(outcome, N_("Feedback recorded."))))
    return web.redirect(f"/matches/{pair_id}")
