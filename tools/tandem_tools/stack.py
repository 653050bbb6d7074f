"""Start and stop Tandem's four services and the console as separate processes (dev stack,
e2e and browser tests)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

SERVICES: dict[str, int] = {"registry": 8001, "matcher": 8002, "events": 8003, "notifier": 8004}
CONSOLE_PORT = 8000


def trusted_registry(url: str, *, hubs: list[str], network: bool) -> dict[str, Any]:
    """A `TANDEM_TRUSTED_ISSUERS` entry for the registry at `url` (its JWKS fetched)."""
    return {
        "issuer": url,
        "jwks_url": f"{url}/.well-known/jwks.json",
        "hubs": hubs,
        "network": network,
    }


def identity_env(registry_url: str, trusted: list[dict[str, Any]]) -> dict[str, str]:
    """The environment of one hub's services: its registry issues tokens as `registry_url`
    and every service accepts the `trusted` issuers (the registry's own among them)."""
    return {"TANDEM_REGISTRY_ISSUER": registry_url, "TANDEM_TRUSTED_ISSUERS": json.dumps(trusted)}


def one_hub_identity_env(registry_url: str) -> dict[str, str]:
    """One hub on its own (`make run`, the e2e stack, benches): every service trusts its
    registry for any hub and as the network's issuer."""
    trusted = trusted_registry(registry_url, hubs=["*"], network=True)
    return identity_env(registry_url, [trusted])


# `make run-federation`: hub -> base port (registry base+1, matcher +2, events +3, notifier +4).
FEDERATION: dict[str, int] = {"north": 8100, "south": 8200}


def federation_ports() -> dict[str, dict[str, int]]:
    return {
        hub: {name: base + offset for offset, name in enumerate(SERVICES, start=1)}
        for hub, base in FEDERATION.items()
    }


def federation_env(
    common: dict[str, str],
    databases: dict[str, dict[str, str]],
    ports: dict[str, dict[str, int]],
) -> dict[str, tuple[dict[str, int], dict[str, str]]]:
    """Each hub's ports and environment: its own hub id and databases; every service trusts
    each hub's registry for that hub only, and the first hub's as the network's issuer
    (in development; a real network has its own)."""
    registries = {
        hub: f"http://127.0.0.1:{hub_ports['registry']}" for hub, hub_ports in ports.items()
    }
    first = next(iter(ports))
    trusted = [
        trusted_registry(url, hubs=[hub], network=hub == first) for hub, url in registries.items()
    ]
    return {
        hub: (
            ports[hub],
            {
                **common,
                "TANDEM_HUB": hub,
                **{
                    f"TANDEM_{service.upper()}_DATABASE_URL": url
                    for service, url in databases[hub].items()
                },
                **identity_env(registries[hub], trusted),
            },
        )
        for hub in ports
    }


def start_hub(
    hub: str, ports: dict[str, int], env: dict[str, str], log_dir: Path
) -> dict[str, ServiceProcess]:
    """One hub's four services, each its own process, logs in `log_dir`."""
    return {name: start_service(name, ports[name], env, log_dir) for name in SERVICES}


@dataclass
class ServiceProcess:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def console_env(services: list[ServiceProcess]) -> dict[str, str]:
    """The console's settings: where each of the four services listens."""
    return {f"TANDEM_CONSOLE_{service.name.upper()}_URL": service.url for service in services}


def start_service(name: str, port: int, env: dict[str, str], log_dir: Path) -> ServiceProcess:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        f"tandem_{name}.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServiceProcess(name=name, port=port, process=process, log_path=log_path)


def wait_ready(services: list[ServiceProcess], timeout: float = 90.0) -> None:
    """Wait until every service answers /readyz with 200; raise with what the slowest one
    last answered and its log tail if not."""
    deadline = time.monotonic() + timeout
    pending = list(services)
    last_answer: dict[str, str] = {}
    while pending:
        for service in list(pending):
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited:\n{_tail(service.log_path)}")
            answer = _readiness(service)
            if answer is None:
                pending.remove(service)
            else:
                last_answer[service.name] = answer
        if pending and time.monotonic() > deadline:
            names = ", ".join(s.name for s in pending)
            slowest = pending[0]
            raise RuntimeError(
                f"not ready after {timeout:.0f}s: {names}\n"
                f"{slowest.name} /readyz: {last_answer.get(slowest.name)}\n"
                f"{_tail(slowest.log_path)}"
            )
        time.sleep(0.25)


def _readiness(service: ServiceProcess) -> str | None:
    """None when the service is ready, else what its /readyz answered (or why it did not)."""
    try:
        # Generous: a loaded machine (a parallel test run) answers slowly, not wrongly.
        response = httpx.get(f"{service.url}/readyz", timeout=10)
    except httpx.HTTPError as error:
        return repr(error)
    return None if response.status_code == 200 else f"{response.status_code} {response.text}"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_services(
    services: list[ServiceProcess], *, kill: bool = False, timeout: float = 15.0
) -> None:
    for service in services:
        if service.process.poll() is None:
            service.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for service in services:
        try:
            service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            service.process.kill()
            service.process.wait()
