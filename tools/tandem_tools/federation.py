"""`make run-federation`: two hubs, north and south, each its own four services with its
own databases, registry key and dev admin (`admin@north.local`, `admin@south.local`,
password TANDEM_DEV_ADMIN_PASSWORD), on the one embedded broker at 9092. North's services
listen on 8101-8104, south's on 8201-8204 (registry, matcher, events, notifier).

Each hub writes only its own topics (`tandem.<hub>.*`, `tandem.network.<hub>.profiles.v1`)
and reads its own local topics plus the other hub's network topic (docs/federation.md).
Every service trusts each hub's registry for that hub only, north's also as the network's
issuer. Databases as for `make run` (SQLite under `.tandem/`, or TANDEM_POSTGRES_URL:
`tandem_<hub>_<service>`). Ctrl-C stops everything.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from tandem_tools.devstack import STATE_DIR, broker_env, database_urls
from tandem_tools.stack import (
    FEDERATION,
    ServiceProcess,
    federation_env,
    federation_ports,
    start_hub,
    stop_services,
    wait_ready,
)


def main() -> None:
    started = time.monotonic()
    STATE_DIR.mkdir(exist_ok=True)
    password = os.environ.setdefault("TANDEM_DEV_ADMIN_PASSWORD", "tandem-dev")
    stop = threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    kafka_env, broker = broker_env()
    common = {
        **kafka_env,
        "TANDEM_ENVIRONMENT": "dev",
        "TANDEM_REGISTRY_DEV_ADMIN_PASSWORD": password,
        "TANDEM_REGISTRY_DEV_KEY_DIR": str(STATE_DIR / "keys"),
    }
    databases = {hub: database_urls(hub) for hub in FEDERATION}
    services: list[ServiceProcess] = []
    try:
        for hub, (ports, env) in federation_env(common, databases, federation_ports()).items():
            services += start_hub(hub, ports, env, STATE_DIR / "logs" / hub).values()
        wait_ready(services, timeout=180)
        print(f"\nTwo hubs are up in {time.monotonic() - started:.1f}s:")
        for service in services:
            print(f"  {service.log_path.parent.name:<6} {service.name:<9} {service.url}/docs")
        for hub in FEDERATION:
            print(f"  sign in to {hub} as admin@{hub}.local / {password}")
        print(f"  logs: {STATE_DIR / 'logs'}/<hub>/\nPress Ctrl-C to stop.\n", flush=True)
        while not stop.wait(0.5):
            for service in services:
                if service.process.poll() is not None:
                    print(f"{service.name} stopped; see {service.log_path}", file=sys.stderr)
                    stop.set()
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping…", flush=True)
        stop_services(services)
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
