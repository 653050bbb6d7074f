"""The webhook send is pinned to the addresses its guard checked (DNS rebinding), against a
real HTTP(S) endpoint on loopback. The name server is the test's: it answers for names
under `.invalid`, which the system resolver can never resolve, so a request that arrives
proves the client connected to the checked address instead of resolving again."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tandem_notifier.domain.policy import Channel, Status
from tandem_notifier.repository.deliveries import Delivery, Webhook
from tandem_notifier.settings import NotifierSettings
from tandem_notifier.webhooks import UnsafeTarget, check_target, post, resolve_target, send_pinned
from tests.support.channels import webhook_receiver

pytestmark = pytest.mark.integration

SECRET = "webhook-secret-0123456789"
LOOPBACK_ALLOWED = NotifierSettings(webhook_allow_private=True, webhook_allow_http=True)
GUARDED = NotifierSettings(webhook_allow_private=False, webhook_allow_http=True)


class Resolver:
    """Answers `answers` for any name; after `rebind_after` questions, `rebound` instead
    (what a hostile name server does between a check and a connection)."""

    def __init__(
        self, *answers: str, rebound: Sequence[str] = (), rebind_after: int | None = None
    ) -> None:
        self.answers, self.rebound, self.rebind_after = list(answers), list(rebound), rebind_after
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append((host, port))
        if self.rebind_after is not None and len(self.asked) > self.rebind_after:
            return self.rebound
        return self.answers


def webhook(url: str) -> Webhook:
    return Webhook(hub="demo", url=url, secret=SECRET, enabled=True, updated_at=datetime.now(UTC))


def delivery() -> Delivery:
    now = datetime.now(UTC)
    return Delivery(
        id=uuid.uuid4(),
        source_message_id=str(uuid.uuid4()),
        hub="demo",
        recipient="*",
        channel=Channel.WEBHOOK,
        kind="match.suggested",
        subject="pair",
        transactional=False,
        address=None,
        language="en",
        payload={"match": {}},
        status=Status.PENDING,
        attempts=1,
        next_attempt_at=now,
        last_error=None,
        digest_id=None,
        created_at=now,
        sent_at=None,
    )


async def test_a_send_connects_to_the_checked_address_and_names_the_host() -> None:
    async with webhook_receiver() as receiver:
        url = receiver.named("hooks.invalid")
        resolver = Resolver("127.0.0.1")
        await post(webhook(url), delivery(), LOOPBACK_ALLOWED, resolver)
    ((headers, _),) = receiver.requests
    assert headers["host"] == f"hooks.invalid:{httpx.URL(url).port}"
    assert resolver.asked == [("hooks.invalid", httpx.URL(url).port)]  # once, for the check


async def test_a_refused_connection_falls_to_the_next_checked_address_up_to_three() -> None:
    # Nothing listens on 127.0.0.2-4 (the receiver is bound to 127.0.0.1): refused at once.
    async with webhook_receiver() as receiver:
        url = receiver.named("hooks.invalid")
        await post(webhook(url), delivery(), LOOPBACK_ALLOWED, Resolver("127.0.0.2", "127.0.0.1"))
        assert len(receiver.requests) == 1
        too_far = Resolver("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.1")
        with pytest.raises(httpx.ConnectError):
            await post(webhook(url), delivery(), LOOPBACK_ALLOWED, too_far)
        assert len(receiver.requests) == 1


async def test_a_private_answer_is_refused_before_any_connection() -> None:
    async with webhook_receiver() as receiver:
        url = receiver.named("hooks.invalid")
        for answers in (["127.0.0.1"], ["93.184.215.14", "127.0.0.1"]):
            with pytest.raises(UnsafeTarget, match="private"):
                await post(webhook(url), delivery(), GUARDED, Resolver(*answers))
        # A name that answers a public address to the check when the webhook is saved, then
        # loopback: the send's own (single) answer is checked and is the one connected to.
        rebinding = Resolver("93.184.215.14", rebound=["127.0.0.1"], rebind_after=1)
        await check_target(url, GUARDED, rebinding)
        with pytest.raises(UnsafeTarget, match="private"):
            await post(webhook(url), delivery(), GUARDED, rebinding)
    assert receiver.requests == []


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `hooks.invalid` and its key."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.invalid"]
    command += ["-addext", "subjectAltName=DNS:hooks.invalid"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
    )
    return cert, key


def verifying(cert: Path) -> httpx.AsyncClient:
    """A client trusting only `cert`; a fresh one per target, as `post` uses (the pool
    keys connections by address, so one client would reuse the first host's TLS session)."""
    return httpx.AsyncClient(verify=ssl.create_default_context(cafile=cert), trust_env=False)


async def test_tls_sends_and_verifies_the_host_name_not_the_address(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    async with webhook_receiver(ssl_certfile=str(cert), ssl_keyfile=str(key)) as receiver:
        url = receiver.named("hooks.invalid")
        target = await resolve_target(url, LOOPBACK_ALLOWED, Resolver("127.0.0.1"))
        async with verifying(cert) as client:
            response = await send_pinned(client, target, content=b"{}", headers={})
        assert response.status_code == 204
        assert receiver.requests[0][0]["host"] == f"hooks.invalid:{httpx.URL(url).port}"
        # The certificate is still checked: against the host name, which it does not name.
        stranger = await resolve_target(
            receiver.named("other.invalid"), LOOPBACK_ALLOWED, Resolver("127.0.0.1")
        )
        async with verifying(cert) as client:
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await send_pinned(client, stranger, content=b"{}", headers={})
    assert len(receiver.requests) == 1
