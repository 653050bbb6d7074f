"""`make run`: the embedded broker, the four services, the staff console and demo data, in
one command. The console is on http://127.0.0.1:8000.

With no configuration every service keeps a SQLite file under `.tandem/`, and the
registry signs its tokens with a key it generates once under `.tandem/keys/`. Set
`TANDEM_POSTGRES_URL` (a server URL such as postgresql://postgres@127.0.0.1:5432) to give
each service its own PostgreSQL database (`tandem_<service>`, created if missing), or set
`TANDEM_<SERVICE>_DATABASE_URL` per service. Set `TANDEM_KAFKA_BOOTSTRAP` to use an
external Kafka instead of the embedded broker, which keeps its data in `.tandem/broker/`
(TANDEM_DEV_BROKER_MEMORY=1: in memory). Ctrl-C stops everything.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path

from tandem_shared.broker import (
    EmbeddedBroker,
    PersistentBroker,
    start_broker,
    start_persistent_broker,
)
from tandem_tools import demo
from tandem_tools.pg import create_database, database_url
from tandem_tools.stack import (
    CONSOLE_PORT,
    SERVICES,
    ServiceProcess,
    console_env,
    one_hub_identity_env,
    start_service,
    stop_services,
    wait_ready,
)

STATE_DIR = Path(".tandem")
DEV_ADMIN = "admin@demo.local"
REGISTRY_URL = f"http://127.0.0.1:{SERVICES['registry']}"


def _database_env() -> dict[str, str]:
    server = os.environ.get("TANDEM_POSTGRES_URL")
    env = {}
    for name in SERVICES:
        key = f"TANDEM_{name.upper()}_DATABASE_URL"
        if key in os.environ:
            continue
        if server:
            asyncio.run(create_database(server, f"tandem_{name}"))
            env[key] = database_url(server, f"tandem_{name}")
        else:
            env[key] = f"sqlite+aiosqlite:///{STATE_DIR / f'{name}.db'}"
    return env


def _broker_env() -> tuple[dict[str, str], EmbeddedBroker | PersistentBroker | None]:
    """The embedded broker, keeping its topics, messages and offsets in `.tandem/broker/`
    (like the services' SQLite files) so that a restart finds them again;
    TANDEM_DEV_BROKER_MEMORY=1 keeps them in memory instead."""
    if os.environ.get("TANDEM_KAFKA_BOOTSTRAP"):
        return {}, None
    broker: EmbeddedBroker | PersistentBroker
    if os.environ.get("TANDEM_DEV_BROKER_MEMORY") == "1":
        broker = start_broker(9092, log_path=STATE_DIR / "logs" / "broker.log")
    else:
        broker = start_persistent_broker(STATE_DIR / "broker", 9092, log_dir=STATE_DIR / "logs")
    # Tansu rejects the idempotent producer; the outbox and inbox keep delivery safe.
    return {"TANDEM_KAFKA_BOOTSTRAP": broker.bootstrap, "TANDEM_KAFKA_IDEMPOTENCE": "false"}, broker


def _print_banner(services: list[ServiceProcess], started: float) -> None:
    apis = services[:-1]
    print(f"\nTandem is up in {time.monotonic() - started:.1f}s; the services' APIs:")
    for service in apis:
        print(f"  {service.name:<9} {service.url}/docs")
    print(f"  token:    POST {apis[0].url}/v1/auth/token")
    print(f"  logs:     {STATE_DIR / 'logs'}/\nPress Ctrl-C to stop.\n", flush=True)


def _load_demo_data(registry_url: str, password: str) -> None:
    token = demo.login(registry_url, DEV_ADMIN, password)
    created, existing = demo.load_demo(registry_url, token)
    print(f"demo data: {created} profiles created, {existing} already there")
    keep_eu = demo.load_keep_eu_demo(registry_url, token)
    if keep_eu is None:
        print(f"keep.eu data: not found in {demo.KEEP_EU_DIR} (set TANDEM_KEEP_EU_DIR)")
    else:
        print(
            f"keep.eu data (https://www.keep.eu): {keep_eu['created']} organisations "
            f"created, {keep_eu['updated']} updated, {keep_eu['unchanged']} unchanged, "
            f"{len(keep_eu['errors'])} rejected"
        )


def _watch(services: list[ServiceProcess], stop: threading.Event) -> None:
    """Until stopped: a service that exits stops the stack (its log says why)."""
    while not stop.wait(0.5):
        for service in services:
            if service.process.poll() is not None:
                print(
                    f"{service.name} stopped unexpectedly; see {service.log_path}",
                    file=sys.stderr,
                )
                stop.set()


def main() -> None:
    started = time.monotonic()
    STATE_DIR.mkdir(exist_ok=True)
    password = os.environ.setdefault("TANDEM_DEV_ADMIN_PASSWORD", "tandem-dev")
    stop = threading.Event()
    # Ctrl-C and SIGTERM both stop the stack cleanly (installed explicitly: a shell may
    # start us with SIGINT ignored).
    serving = threading.Event()

    def on_signal(*_: object) -> None:
        stop.set()
        if not serving.is_set():
            raise KeyboardInterrupt  # interrupt a start-up that is still waiting

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, on_signal)
    broker_env, broker = _broker_env()
    env = {
        **broker_env,
        **_database_env(),
        "TANDEM_ENVIRONMENT": "dev",
        "TANDEM_REGISTRY_DEV_ADMIN_PASSWORD": password,
        # The registry signs with a key generated once under .tandem/keys/; all four
        # services trust it (for any hub: one hub, one registry) by its JWKS.
        **one_hub_identity_env(REGISTRY_URL),
    }
    services: list[ServiceProcess] = []
    try:
        logs = STATE_DIR / "logs"
        services = [start_service(name, port, env, logs) for name, port in SERVICES.items()]
        wait_ready(services)
        console = start_service("console", CONSOLE_PORT, {**env, **console_env(services)}, logs)
        services.append(console)
        wait_ready([console])
        # The console first: it is where people start.
        print(f"Tandem console: {console.url}  (sign in as {DEV_ADMIN} / {password})", flush=True)
        _load_demo_data(services[0].url, password)
        _print_banner(services, started)
        serving.set()
        _watch(services, stop)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        stop_services(services)
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
