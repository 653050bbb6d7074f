"""The dev stack's mail catcher: an SMTP server that accepts every email the notifier
sends and keeps the latest in memory, and a tiny HTTP endpoint that lists them as JSON
(newest first) for the console's "Sent mail (dev)" page. Nothing is delivered anywhere."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections import deque
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

SMTP_PORT = 1025
HTTP_PORT = 8025
MESSAGES_PATH = "/messages"
KEPT = 200  # the latest emails; older ones are dropped


@dataclass(frozen=True)
class CaughtMail:
    received_at: str  # ISO 8601, UTC
    mail_from: str
    to: list[str]  # the envelope's recipients: who it was really sent to
    subject: str
    text: str  # the plain-text part (or the HTML one when there is none)
    attachments: list[str]  # their file names


def read_mail(raw: bytes, mail_from: str, to: list[str]) -> CaughtMail:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain", "html"))
    return CaughtMail(
        received_at=datetime.now(UTC).isoformat(),
        mail_from=mail_from,
        to=to,
        subject=str(message.get("Subject", "")),
        # SMTP carries CRLF line ends; shown as text, lines end as anywhere else.
        text=body.get_content().replace("\r\n", "\n") if isinstance(body, EmailMessage) else "",
        attachments=[part.get_filename() or "" for part in message.iter_attachments()],
    )


class KeptMail:
    """aiosmtpd's handler: every email accepted and kept (its server runs in a thread)."""

    def __init__(self, limit: int = KEPT) -> None:
        self._messages: deque[CaughtMail] = deque(maxlen=limit)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        caught = read_mail(envelope.content, str(envelope.mail_from), list(envelope.rcpt_tos))
        with self._lock:
            self._messages.append(caught)
        return "250 OK: kept by the dev mail catcher"

    def newest_first(self) -> list[CaughtMail]:
        with self._lock:
            return list(reversed(self._messages))


def _listing_handler(kept: KeptMail) -> type[BaseHTTPRequestHandler]:
    class Listing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != MESSAGES_PATH:
                self.send_error(404, f"only {MESSAGES_PATH} is here")
                return
            items = [asdict(mail) for mail in kept.newest_first()]
            body = json.dumps({"items": items}, ensure_ascii=False).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the console polls it on every visit to its page."""

    return Listing


class MailCatcher:
    """The SMTP server and its HTTP listing, both on 127.0.0.1, each in its own thread."""

    def __init__(self, smtp_port: int = SMTP_PORT, http_port: int = HTTP_PORT) -> None:
        self.host = "127.0.0.1"
        self.smtp_port = smtp_port
        self.kept = KeptMail()
        self._smtp = Controller(self.kept, hostname=self.host, port=smtp_port)
        self._http = ThreadingHTTPServer((self.host, http_port), _listing_handler(self.kept))
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name="mail-catcher-http", daemon=True
        )

    @property
    def url(self) -> str:
        """Where the kept emails are listed (the console's TANDEM_CONSOLE_DEV_MAIL_URL)."""
        return f"http://{self.host}:{self._http.server_address[1]}{MESSAGES_PATH}"

    def notifier_env(self) -> dict[str, str]:
        return {
            "TANDEM_NOTIFIER_SMTP_HOST": self.host,
            "TANDEM_NOTIFIER_SMTP_PORT": str(self.smtp_port),
            "TANDEM_NOTIFIER_SMTP_TLS": "none",
        }

    def start(self) -> MailCatcher:
        self._smtp.start()
        self._http_thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._smtp.stop()
