"""Organisations: search and filter, create and edit (the registry's 422s shown next to
their fields), import a CSV or JSON-lines file with a per-row report, export, erase."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from tandem_console import forms, names, web
from tandem_console.backend import ApiError, Backend

router = APIRouter()
PER_PAGE = 20
MAX_IMPORT_BYTES = 50 * 1024 * 1024


@router.get("/organisations")
async def organisations(
    request: Request,
    api: web.Api,
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    subsector: Annotated[str | None, Query(max_length=40)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    filters = {
        "q": (q or "").strip(),
        "kind": kind or "",
        "subsector": subsector or "",
        "country": (country or "").upper(),
    }
    try:
        listing = await api.get("registry", "/v1/profiles", **filters, page=page, per_page=PER_PAGE)
        error = None
    except ApiError as refused:
        if refused.status != 422:
            raise
        listing, error = {"items": [], "total": 0}, refused.message
    return await web.render(
        request,
        "organisations.html",
        nav="organisations",
        listing=listing,
        filters=filters,
        filter_error=error,
        page=page,
        pages=max(1, -(-listing["total"] // PER_PAGE)),
    )


@router.get("/organisations/new")
async def new_organisation(request: Request, _api: web.Api) -> Response:
    return await _form_page(request, {"sharing": "hub"}, {}, None)


async def _form_page(
    request: Request,
    form: dict[str, Any],
    errors: dict[str, str],
    profile: dict[str, Any] | None,
    status: int = 200,
) -> Response:
    return await web.render(
        request,
        "organisation_form.html",
        status=status,
        nav="organisations",
        form=form,
        errors=errors,
        profile=profile,
    )


async def _refused(
    request: Request, values: dict[str, list[str]], error: ApiError, profile: Any
) -> Response:
    if error.status != 422:
        raise error
    errors = forms.field_errors(error.fields())
    form = forms.organisation_form_values(values)
    return await _form_page(request, form, errors, profile, status=422)


@router.post("/organisations")
async def create_organisation(request: Request, api: web.Api, lang: web.Lang) -> Response:
    values = forms.form_values(await request.form())
    try:
        created = await api.post(
            "registry", "/v1/profiles", json=forms.organisation_payload(values)
        )
    except ApiError as error:
        if error.status == 409:
            error = ApiError(422, [{"loc": ["body", "external_id"], "msg": error.message}])
        return await _refused(request, values, error, None)
    web.flash(request, lang.gettext("Organisation %(name)s created.", name=created["name"]))
    return web.redirect(f"/organisations/{created['id']}")


@router.get("/organisations/export")
async def export(api: web.Api) -> Response:
    """The hub's organisations as the registry's CSV (its columns import back)."""
    answer = await api.call("registry", "GET", "/v1/profiles/export")
    disposition = answer.headers.get("content-disposition", 'attachment; filename="profiles.csv"')
    return Response(
        answer.content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": disposition},
    )


@router.get("/organisations/import")
async def import_page(request: Request, _api: web.Api) -> Response:
    return await web.render(request, "organisation_import.html", nav="organisations", report=None)


@router.post("/organisations/import")
async def import_file(request: Request, api: web.Api, lang: web.Lang) -> Response:
    """Send the uploaded file to the registry's bulk import; show its per-row report."""
    upload = (await request.form()).get("file")
    report: dict[str, Any] | None = None
    error = None
    if not isinstance(upload, UploadFile) or not upload.filename:
        error = lang.gettext("Choose a file to import.")
    elif (media_type := forms.import_media_type(upload.filename)) is None:
        error = lang.gettext("The file must be a .csv, .jsonl, .ndjson or .json file.")
    else:
        body = await upload.read(MAX_IMPORT_BYTES + 1)
        if len(body) > MAX_IMPORT_BYTES:
            error = lang.gettext("The file is larger than 50 MB.")
        else:
            report, error = await _import(api, body, media_type)
    template = "_import_report.html" if web.is_htmx(request) else "organisation_import.html"
    status = 200 if error is None else 422
    return await web.render(
        request, template, status=status, nav="organisations", report=report, error=error
    )


async def _import(api: Backend, body: bytes, media_type: str) -> tuple[Any, str | None]:
    try:
        answer = await api.call(
            "registry",
            "POST",
            "/v1/profiles:import",
            content=body,
            headers={"Content-Type": media_type},
        )
    except ApiError as refused:
        if refused.status in (409, 413, 415, 422):
            return None, refused.message
        raise
    return answer.json(), None


@router.get("/organisations/{profile_id}")
async def organisation(request: Request, api: web.Api, profile_id: uuid.UUID) -> Response:
    profile = await api.get("registry", f"/v1/profiles/{profile_id}")
    try:
        matches = (await api.get("matcher", f"/v1/profiles/{profile_id}/matches", limit=10))[
            "matches"
        ]
    except ApiError:
        matches = []  # the matcher may not have seen the profile yet
    known = await names.profiles(api, [m["profile_id"] for m in matches])
    for match in matches:
        match["name"] = (known.get(str(match["profile_id"])) or {}).get("name")
    return await web.render(
        request, "organisation.html", nav="organisations", profile=profile, matches=matches
    )


@router.get("/organisations/{profile_id}/edit")
async def edit_organisation(request: Request, api: web.Api, profile_id: uuid.UUID) -> Response:
    profile = await api.get("registry", f"/v1/profiles/{profile_id}")
    return await _form_page(request, forms.organisation_form(profile), {}, profile)


@router.post("/organisations/{profile_id}")
async def update_organisation(
    request: Request, api: web.Api, lang: web.Lang, profile_id: uuid.UUID
) -> Response:
    profile = await api.get("registry", f"/v1/profiles/{profile_id}")
    values = forms.form_values(await request.form())
    payload = forms.organisation_payload(values, profile)
    try:
        updated = await api.patch("registry", f"/v1/profiles/{profile_id}", json=payload)
    except ApiError as error:
        if error.status == 409:
            error = ApiError(422, [{"loc": ["body", "external_id"], "msg": error.message}])
        return await _refused(request, values, error, profile)
    web.flash(request, lang.gettext("Organisation %(name)s saved.", name=updated["name"]))
    return web.redirect(f"/organisations/{profile_id}")


@router.get("/organisations/{profile_id}/erase")
async def erase_page(request: Request, api: web.Api, profile_id: uuid.UUID) -> Response:
    profile = await api.get("registry", f"/v1/profiles/{profile_id}")
    return await web.render(
        request, "organisation_erase.html", nav="organisations", profile=profile
    )


@router.post("/organisations/{profile_id}/erase")
async def erase(request: Request, api: web.Api, lang: web.Lang, profile_id: uuid.UUID) -> Response:
    """GDPR erasure through the registry: it removes the personal data everywhere."""
    profile = await api.get("registry", f"/v1/profiles/{profile_id}")
    await api.delete("registry", f"/v1/profiles/{profile_id}")
    web.flash(request, lang.gettext("Organisation %(name)s erased.", name=profile["name"]))
    return web.redirect("/organisations")
