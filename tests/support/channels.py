"""Real receivers for the notifier's channels in tests: an SMTP server (aiosmtpd, in its
own thread) and a webhook endpoint served by uvicorn on a free port."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from tandem_shared.broker import free_port
from tests.support.served import served


@dataclass(frozen=True)
class Received:
    message: EmailMessage
    raw: bytes  # as received, to check how headers went over the wire
    recipients: list[str]


class _Inbox:
    def __init__(self) -> None:
        # One append per email (the server runs in its own thread): readers never see a
        # message without its recipients.
        self.received: list[Received] = []

    @property
    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(message, envelope.content, list(envelope.rcpt_tos)))
        return "250 OK"


class SmtpServer:
    """An SMTP server on a fixed free port that can be started late or stopped (outages)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = _Inbox()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        return self.inbox.messages

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.inbox.received if address in r.recipients]

    def raw_to(self, address: str) -> list[bytes]:
        return [r.raw for r in self.inbox.received if address in r.recipients]


@dataclass
class WebhookReceiver:
    url: str  # on 127.0.0.1, where it listens
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    # Status codes to answer, in order; once used up every request gets 204.
    answers: list[int] = field(default_factory=list)

    def named(self, host: str) -> str:
        """The receiver's URL with `host` in place of its address."""
        parts = urlsplit(self.url)
        return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}"))


@asynccontextmanager
async def webhook_receiver(**config: Any) -> AsyncIterator[WebhookReceiver]:
    """A webhook endpoint on 127.0.0.1 that records each request (`config` goes to uvicorn,
    e.g. a certificate to serve https)."""
    app = FastAPI()
    receiver = WebhookReceiver(url="")

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        receiver.requests.append((dict(request.headers), await request.body()))
        code = receiver.answers.pop(0) if receiver.answers else 204
        return Response(status_code=code)

    async with served(app, **config) as base_url:
        receiver.url = f"{base_url}/hook"
        yield receiver
