"""The events service's HTTP API (events, registrations and schedules come with their issue)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
