"""The webhook guard's pure parts: refused addresses, a resolver's answers, and the pinned
request (the checked address to connect to, the original host for Host and TLS); and the
guard itself with a resolver that answers what a hostile name server would."""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import ip_address

import pytest

from tandem_notifier.domain.targets import Pinned, addresses_of, pin, refused_address
from tandem_notifier.settings import NotifierSettings
from tandem_notifier.webhooks import UnsafeTarget, resolve_target

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("url", "address", "expected"),
    [
        (
            "https://hooks.example.org/in/tandem?hub=demo#ignored",
            "93.184.215.14",
            Pinned(
                "https://93.184.215.14:443/in/tandem?hub=demo",
                "hooks.example.org",
                "hooks.example.org",
            ),
        ),
        (
            "http://localhost:8080/hook",
            "127.0.0.1",
            Pinned("http://127.0.0.1:8080/hook", "localhost:8080", "localhost"),
        ),
        (
            "https://Hooks.Example.org:8443",
            "2001:db8::1",
            Pinned("https://[2001:db8::1]:8443/", "hooks.example.org:8443", "hooks.example.org"),
        ),
        (  # an explicit default port is left out of Host, as clients do
            "https://hooks.example.org:443/hook",
            "93.184.215.14",
            Pinned("https://93.184.215.14:443/hook", "hooks.example.org", "hooks.example.org"),
        ),
        (  # an IPv6 literal host keeps its brackets in Host, none in the TLS name
            "https://[2001:db8::2]:8443/hook",
            "2001:db8::2",
            Pinned("https://[2001:db8::2]:8443/hook", "[2001:db8::2]:8443", "2001:db8::2"),
        ),
        (  # an internationalised name goes out in its ASCII form
            "https://bücher.example/hook",
            "93.184.215.14",
            Pinned(
                "https://93.184.215.14:443/hook", "xn--bcher-kva.example", "xn--bcher-kva.example"
            ),
        ),
    ],
)
def test_pin_connects_to_the_address_and_names_the_host(
    url: str, address: str, expected: Pinned
) -> None:
    assert pin(url, ip_address(address)) == expected


def test_addresses_of_keeps_the_resolvers_order_once_each_without_zones() -> None:
    answers = ["::1", "127.0.0.1", "::1", "fe80::1%eth0", "127.0.0.1"]
    assert addresses_of(answers) == tuple(ip_address(a) for a in ("::1", "127.0.0.1", "fe80::1"))


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("93.184.215.14", False),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", False),
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("169.254.169.254", True),
        ("224.0.0.1", True),
        ("0.0.0.0", True),
        ("::1", True),
        ("fe80::1", True),
        ("::ffff:192.168.0.1", True),
        ("::ffff:93.184.215.14", False),
    ],
)
def test_refused_addresses(address: str, refused: bool) -> None:
    assert refused_address(ip_address(address)) is refused


class Resolver:
    """A name server under test control: fixed answers, every question counted."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append((host, port))
        return self.answers


SETTINGS = NotifierSettings(webhook_allow_private=False, webhook_allow_http=False)


@pytest.mark.parametrize(
    "answers",
    [("127.0.0.1",), ("93.184.215.14", "10.0.0.7"), ("93.184.215.14", "::ffff:127.0.0.1")],
)
async def test_a_private_answer_among_public_ones_refuses_the_target(
    answers: tuple[str, ...],
) -> None:
    resolver = Resolver(*answers)
    with pytest.raises(UnsafeTarget, match="private"):
        await resolve_target("https://hooks.example.org/hook", SETTINGS, resolver)
    assert resolver.asked == [("hooks.example.org", 443)]


async def test_the_target_keeps_every_checked_address_from_one_question() -> None:
    resolver = Resolver("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c")
    target = await resolve_target("https://hooks.example.org:8443/hook", SETTINGS, resolver)
    assert target.addresses == tuple(ip_address(a) for a in resolver.answers)
    assert resolver.asked == [("hooks.example.org", 8443)]


@pytest.mark.parametrize("answers", [(), ("not-an-address",)])
async def test_no_usable_answer_is_refused(answers: tuple[str, ...]) -> None:
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        await resolve_target("https://hooks.example.org/hook", SETTINGS, Resolver(*answers))
