"""Syntax and consistency checks for the deployment files: Dockerfile, .dockerignore,
docker-compose.yml, the PostgreSQL init script and the Kubernetes manifests. Nothing is
built or run; the files are parsed and checked against each other."""

from __future__ import annotations

import functools
import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
import yaml

from tandem_shared.identity.issuers import TrustedIssuer
from tandem_shared.settings import ServiceSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SERVICES = {"registry": 8001, "matcher": 8002, "events": 8003, "notifier": 8004}
# The staff console is an image and a deployment too, but has no database and no broker.
IMAGES = {**SERVICES, "console": 8000}
INFRASTRUCTURE = ("kafka", "postgres")
CONFIG_MAP = "tandem-config"
SECRET = "tandem-secrets"
UV_SYNC_FLAGS = ("--frozen", "--no-dev", "--no-editable")

per_service = pytest.mark.parametrize("service", sorted(SERVICES))
per_image = pytest.mark.parametrize("service", sorted(IMAGES))


def db_url_key(service: str) -> str:
    return f"TANDEM_{service.upper()}_DATABASE_URL"


# ------------------------------------------------------------------------------ Dockerfile


@dataclass(frozen=True)
class Stage:
    name: str
    base: str
    instructions: tuple[tuple[str, str], ...]

    def args(self, keyword: str) -> list[str]:
        return [args for key, args in self.instructions if key == keyword]


def logical_lines(text: str) -> list[str]:
    """Dockerfile lines with comments dropped and `\\` continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        lines.append(pending + line)
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return lines


@functools.cache
def dockerfile_stages() -> dict[str, Stage]:
    parsed: list[tuple[str, str, list[tuple[str, str]]]] = []
    for line in logical_lines((ROOT / "Dockerfile").read_text()):
        keyword, _, args = line.partition(" ")
        keyword, args = keyword.upper(), args.strip()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", args, re.IGNORECASE)
            assert match, f"unparsable FROM line: {line}"
            parsed.append((match.group(2) or f"stage-{len(parsed)}", match.group(1), []))
        elif parsed:
            parsed[-1][2].append((keyword, args))
        else:
            assert keyword == "ARG", f"{keyword} before the first FROM"
    names = [name for name, _, _ in parsed]
    assert len(names) == len(set(names)), "duplicate stage names"
    return {name: Stage(name, base, tuple(body)) for name, base, body in parsed}


def stage_chain(name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, root first."""
    stages = dockerfile_stages()
    chain = [stages[name]]
    while chain[0].base in stages:
        chain.insert(0, stages[chain[0].base])
    return chain


def chain_args(name: str, keyword: str) -> list[str]:
    """The arguments of every `keyword` instruction in the stage and its bases, in order."""
    return [args for stage in stage_chain(name) for args in stage.args(keyword)]


def effective(name: str, keyword: str) -> str | None:
    """The last value of a single-valued instruction (USER, CMD, ...) a stage ends up with."""
    values = chain_args(name, keyword)
    return values[-1] if values else None


def environment(name: str) -> dict[str, str]:
    pairs = [pair.split("=", 1) for args in chain_args(name, "ENV") for pair in shlex.split(args)]
    return {key: value for key, value in pairs}


def copy_parts(args: str) -> tuple[dict[str, str], list[str]]:
    """COPY's --flags and its paths (sources then destination)."""
    words = shlex.split(args)
    flags = dict(word[2:].partition("=")[::2] for word in words if word.startswith("--"))
    return flags, [word for word in words if not word.startswith("--")]


def context_sources(name: str) -> list[str]:
    """The build-context paths the stage (and its bases) COPY."""
    copies = [copy_parts(args) for args in chain_args(name, "COPY")]
    return [source for flags, paths in copies if "from" not in flags for source in paths[:-1]]


def workspace_members() -> list[Path]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["uv"]["workspace"]["members"]
    return sorted(
        path.parent for pattern in patterns for path in ROOT.glob(f"{pattern}/pyproject.toml")
    )


def test_every_compose_target_is_a_dockerfile_stage() -> None:
    targets = {compose()["services"][name]["build"]["target"] for name in IMAGES}
    assert targets == set(IMAGES)
    assert targets <= set(dockerfile_stages())


@per_image
def test_runtime_target_runs_as_non_root(service: str) -> None:
    user = effective(service, "USER")
    assert user, f"{service} runs as root: no USER"
    assert user.split(":")[0] not in {"root", "0"}
    assert stage_chain(service)[0].base == "python:3.11-slim"


@per_image
def test_runtime_target_serves_its_port(service: str) -> None:
    port = IMAGES[service]
    stage = dockerfile_stages()[service]
    assert str(port) in " ".join(stage.args("EXPOSE")).split()
    uvicorn = f"uvicorn tandem_{service}.app:create_app --factory --host 0.0.0.0 --port {port}"
    assert json.loads(effective(service, "CMD") or "null") == uvicorn.split()
    healthcheck = effective(service, "HEALTHCHECK") or ""
    assert "urllib" in healthcheck
    assert f"http://127.0.0.1:{port}/healthz" in healthcheck
    env = environment(service)
    assert env["TANDEM_ENVIRONMENT"] == "prod"
    assert env["PATH"].startswith("/app/.venv/bin:")


@per_image
def test_runtime_target_copies_only_its_service_venv(service: str) -> None:
    copies = [copy_parts(args) for args in dockerfile_stages()[service].args("COPY")]
    assert copies, f"{service} copies nothing"
    for flags, paths in copies:
        assert paths == ["/app/.venv", "/app/.venv"]
        build_stage = flags["from"]
        syncs = [run for run in chain_args(build_stage, "RUN") if "uv sync" in run]
        assert syncs, f"{build_stage} never runs uv sync"
        for flag in (*UV_SYNC_FLAGS, f"--package tandem-{service}"):
            assert flag in syncs[-1]
        assert stage_chain(build_stage)[0].base == "python:3.11-slim"


def test_builder_uses_uv_and_copies_every_workspace_member() -> None:
    build_stage = f"build-{next(iter(SERVICES))}"
    uv_copies = [copy_parts(args)[0] for args in chain_args(build_stage, "COPY")]
    assert {"from": "ghcr.io/astral-sh/uv:0.13.8"} in uv_copies
    env = environment(build_stage)
    expected = {"UV_COMPILE_BYTECODE": "1", "UV_LINK_MODE": "copy", "UV_PYTHON_DOWNLOADS": "never"}
    assert expected.items() <= env.items()
    assert env["UV_PROJECT_ENVIRONMENT"] == "/app/.venv"
    sources = {source.rstrip("/") for source in context_sources(build_stage)}
    assert {"pyproject.toml", "uv.lock"} <= sources
    for member in workspace_members():
        relative = member.relative_to(ROOT).as_posix()
        assert f"{relative}/pyproject.toml" in sources, f"{relative} is not in the build"


def test_dockerfile_copies_only_existing_unignored_paths() -> None:
    ignored = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert {".venv", ".git", ".tandem", "tests", "bench"} <= set(ignored)
    sources = {source for name in dockerfile_stages() for source in context_sources(name)}
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: no such path"
        top = Path(source).parts[0]
        assert not any(fnmatch(top, pattern) for pattern in ignored), f"{source} is ignored"


# ------------------------------------------------------------------------------ compose


@functools.cache
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def service_specs() -> dict[str, dict[str, Any]]:
    return {name: compose()["services"][name] for name in SERVICES}


def compose_env(name: str) -> dict[str, str]:
    env = compose()["services"][name].get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def healthcheck_command(name: str) -> str:
    test = compose()["services"][name]["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


def compose_databases() -> list[str]:
    return sorted(
        compose_env(service)[db_url_key(service)].rsplit("/", 1)[1] for service in SERVICES
    )


def test_compose_defines_infrastructure_and_services() -> None:
    assert "version" not in compose()
    assert set(compose()["services"]) == {*INFRASTRUCTURE, *IMAGES}


def test_kafka_runs_in_kraft_mode() -> None:
    kafka = compose()["services"]["kafka"]
    assert kafka["image"] == "apache/kafka:3.8.0"
    env = compose_env("kafka")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_LISTENERS"] == "PLAINTEXT://:9092,CONTROLLER://:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"].lower() == "false"
    for factor in ("OFFSETS_TOPIC_REPLICATION_FACTOR", "TRANSACTION_STATE_LOG_REPLICATION_FACTOR"):
        assert env[f"KAFKA_{factor}"] == "1"
    assert "/opt/kafka/bin/kafka-topics.sh --bootstrap-server localhost:9092 --list" in (
        healthcheck_command("kafka")
    )


def test_postgres_initialises_the_service_databases() -> None:
    postgres = compose()["services"]["postgres"]
    assert postgres["image"] == "postgres:15-alpine"
    assert compose_env("postgres")["POSTGRES_USER"] == "tandem"
    assert "pg_isready" in healthcheck_command("postgres")
    mounts = dict(volume.split(":")[:2] for volume in postgres["volumes"])
    initdb = "/docker-entrypoint-initdb.d/"
    init_scripts = [source for source, target in mounts.items() if target.startswith(initdb)]
    assert [(ROOT / source).resolve() for source in init_scripts] == [
        ROOT / "deploy" / "postgres" / "init-databases.sql"
    ]
    named = [source for source in mounts if not source.startswith((".", "/"))]
    assert named, "postgres keeps its data in no named volume"
    assert set(named) <= set(compose().get("volumes") or {})


@per_service
def test_compose_service_waits_for_healthy_dependencies(service: str) -> None:
    depends_on = service_specs()[service]["depends_on"]
    assert isinstance(depends_on, dict), "depends_on needs conditions, not a list"
    assert set(INFRASTRUCTURE) <= set(depends_on)
    assert {spec["condition"] for spec in depends_on.values()} == {"service_healthy"}
    assert set(depends_on) <= set(compose()["services"]) - {service}
    assert f"http://127.0.0.1:{SERVICES[service]}/readyz" in healthcheck_command(service)


@per_service
def test_compose_service_is_built_and_published(service: str) -> None:
    spec = service_specs()[service]
    assert (ROOT / spec["build"].get("context", ".") / spec["build"]["dockerfile"]).is_file()
    assert spec["build"]["target"] == service
    port = SERVICES[service]
    assert f"{port}:{port}" in [str(mapping) for mapping in spec["ports"]]


@per_service
def test_compose_service_environment(service: str) -> None:
    env = compose_env(service)
    assert env["TANDEM_ENVIRONMENT"] == "prod"
    assert env["TANDEM_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["TANDEM_KAFKA_IDEMPOTENCE"].lower() == "true"
    assert not [key for key in env if "JWT" in key], "no shared token secret any more"
    # Only the registry holds a signing key: no other service can mint tokens.
    assert ("TANDEM_REGISTRY_SIGNING_KEY" in env) is (service == "registry")
    assert compose_registry_issuer() in trusted_issuers(env["TANDEM_TRUSTED_ISSUERS"])
    assert env["TANDEM_HUB"] == "${TANDEM_HUB:-demo}"
    url = env[db_url_key(service)]
    assert url.startswith("postgresql+asyncpg://tandem:${POSTGRES_PASSWORD:-tandem}@postgres:5432/")
    assert url.endswith(f"/tandem_{service}")
    foreign = {db_url_key(other) for other in SERVICES if other != service}
    assert not foreign & set(env), f"{service} sees another service's database"


def interpolated(value: str) -> str:
    """A compose value as compose would fill it in with no variables set: `${NAME:-default}`
    becomes the default, a required `${NAME:?message}` becomes `<NAME>`."""
    value = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)
    return re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", r"<\1>", value)


def trusted_issuers(value: str) -> dict[str, TrustedIssuer]:
    """A TANDEM_TRUSTED_ISSUERS value, parsed and checked as the services do, by issuer."""
    entries = [TrustedIssuer(**entry) for entry in json.loads(interpolated(value))]
    return {entry.issuer: entry for entry in entries}


def compose_registry_issuer() -> str:
    return interpolated(compose_env("registry")["TANDEM_REGISTRY_ISSUER"])


def test_compose_services_trust_the_registry_by_its_jwks() -> None:
    """Every service (the registry too, for its own tokens) trusts the registry's issuer for
    the deployment's hub, reading its JWKS from the registry container."""
    registry = compose_env("registry")
    assert registry["TANDEM_REGISTRY_SIGNING_KEY"].startswith("${TANDEM_REGISTRY_SIGNING_KEY:?")
    for service in SERVICES:
        issuer = trusted_issuers(compose_env(service)["TANDEM_TRUSTED_ISSUERS"])[
            compose_registry_issuer()
        ]
        assert issuer.jwks_url == f"http://registry:{SERVICES['registry']}/.well-known/jwks.json"
        assert issuer.hubs == [interpolated(compose_env(service)["TANDEM_HUB"])]
        assert issuer.network is True  # one hub on its own is its own network


def test_compose_events_gets_its_own_calendar_link_secret() -> None:
    env = compose_env("events")
    secret = env["TANDEM_EVENTS_CALENDAR_LINK_SECRET"]
    assert secret.startswith("${TANDEM_EVENTS_CALENDAR_LINK_SECRET:?")
    others = [name for name in SERVICES if name != "events"]
    assert all("TANDEM_EVENTS_CALENDAR_LINK_SECRET" not in compose_env(name) for name in others)


def test_compose_console_calls_the_four_services_and_keeps_no_data() -> None:
    console = compose()["services"]["console"]
    depends_on = console["depends_on"]
    assert set(depends_on) == set(SERVICES)
    assert {spec["condition"] for spec in depends_on.values()} == {"service_healthy"}
    assert "8000:8000" in [str(mapping) for mapping in console["ports"]]
    assert "http://127.0.0.1:8000/readyz" in healthcheck_command("console")
    env = compose_env("console")
    assert env["TANDEM_ENVIRONMENT"] == "prod"
    assert env["TANDEM_CONSOLE_SESSION_SECRET"].startswith("${TANDEM_CONSOLE_SESSION_SECRET:?")
    for service, port in SERVICES.items():
        assert env[f"TANDEM_CONSOLE_{service.upper()}_URL"] == f"http://{service}:{port}"
    assert not {key for key in env if key.endswith("_DATABASE_URL") or "KAFKA" in key}


def test_init_sql_creates_the_compose_databases() -> None:
    sql = (ROOT / "deploy" / "postgres" / "init-databases.sql").read_text()
    created = re.findall(r"^\s*CREATE\s+DATABASE\s+(\w+)", sql, re.IGNORECASE | re.MULTILINE)
    assert sorted(created) == compose_databases()
    assert compose_databases() == sorted(f"tandem_{service}" for service in SERVICES)


# ------------------------------------------------------------------------------ kubernetes


def k8s_manifest_files() -> set[str]:
    return {path.name for path in K8S.glob("*.y*ml")} - {"kustomization.yaml"}


@functools.cache
def k8s_documents() -> list[dict[str, Any]]:
    texts = [(K8S / name).read_text() for name in sorted(k8s_manifest_files())]
    return [doc for text in texts for doc in yaml.safe_load_all(text) if doc is not None]


def k8s_object(kind: str, name: str) -> dict[str, Any]:
    found = [
        doc for doc in k8s_documents() if (doc["kind"], doc["metadata"]["name"]) == (kind, name)
    ]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(service: str) -> dict[str, Any]:
    spec: dict[str, Any] = k8s_object("Deployment", service)["spec"]["template"]["spec"]
    return spec


def container(service: str) -> dict[str, Any]:
    containers: list[dict[str, Any]] = pod_spec(service)["containers"]
    assert len(containers) == 1
    return containers[0]


def container_port(service: str, port: int | str) -> int:
    """A port number, or the number of the container port with that name."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for p in container(service)["ports"] if p.get("name") == port]
    assert named, f"{service} has no container port named {port}"
    return int(named[0])


def probe(service: str, kind: str) -> tuple[str, int, int]:
    """The probe's path and port, and how many seconds it tolerates failing."""
    spec = container(service)[kind]
    period, failures = spec.get("periodSeconds", 10), spec.get("failureThreshold", 3)
    budget = spec.get("initialDelaySeconds", 0) + period * failures
    return spec["httpGet"]["path"], container_port(service, spec["httpGet"]["port"]), budget


def security_setting(service: str, key: str) -> Any:
    """A security setting, the container's overriding the pod's."""
    pod_default = pod_spec(service).get("securityContext", {}).get(key)
    return container(service).get("securityContext", {}).get(key, pod_default)


def test_k8s_manifests_parse() -> None:
    assert k8s_documents()
    for doc in k8s_documents():
        assert {"apiVersion", "kind", "metadata"} <= set(doc)
        assert doc["kind"] == "Namespace" or doc["metadata"].get("namespace") == "tandem"
    assert k8s_object("Namespace", "tandem")


def test_kustomization_lists_exactly_the_files_present() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    assert set(resources) == k8s_manifest_files()


def test_config_map_and_secret_carry_the_settings() -> None:
    config = k8s_object("ConfigMap", CONFIG_MAP)["data"]
    assert config["TANDEM_ENVIRONMENT"] == "prod"
    assert config["TANDEM_KAFKA_BOOTSTRAP"].endswith(":9092")
    assert config["TANDEM_KAFKA_IDEMPOTENCE"] == "true"
    assert int(config["TANDEM_KAFKA_PARTITIONS"]) >= int(config["TANDEM_KAFKA_REPLICATION"]) > 1
    assert all(isinstance(value, str) for value in config.values())
    secret = k8s_object("Secret", SECRET)["stringData"]
    assert set(secret) == {
        "TANDEM_EVENTS_CALENDAR_LINK_SECRET",
        "TANDEM_NOTIFIER_UNSUBSCRIBE_SECRET",
        "TANDEM_CONSOLE_SESSION_SECRET",
        *map(db_url_key, SERVICES),
    }
    assert set(secret.values()) == {"CHANGE-ME"}


def test_k8s_services_trust_the_registry_by_its_in_cluster_jwks() -> None:
    config = k8s_object("ConfigMap", CONFIG_MAP)["data"]
    registry_issuer = config["TANDEM_REGISTRY_ISSUER"]
    assert "CHANGE-ME" in registry_issuer  # a template value the registry refuses in prod
    issuer = trusted_issuers(config["TANDEM_TRUSTED_ISSUERS"])[registry_issuer]
    (port,) = k8s_object("Service", "registry")["spec"]["ports"]
    jwks = f"http://registry.tandem.svc.cluster.local:{port['port']}/.well-known/jwks.json"
    assert issuer.jwks_url == jwks
    assert (issuer.hubs, issuer.network) == ([config["TANDEM_HUB"]], True)


def test_k8s_only_the_registry_mounts_the_signing_key() -> None:
    """The signing key is its own Secret, mounted into the registry's pods alone, at the
    path its settings read."""
    key_secret = k8s_object("Secret", "tandem-registry-signing-key")
    assert key_secret["stringData"] == {"signing.pem": "CHANGE-ME"}
    for service in SERVICES:
        volumes = pod_spec(service).get("volumes", [])
        mounted = [
            v
            for v in volumes
            if v.get("secret", {}).get("secretName") == "tandem-registry-signing-key"
        ]
        assert bool(mounted) is (service == "registry"), service
    (volume,) = [v for v in pod_spec("registry")["volumes"] if "secret" in v]
    assert volume["secret"]["defaultMode"] == 0o440
    mounts = {m["name"]: m for m in container("registry")["volumeMounts"]}
    assert mounts[volume["name"]]["readOnly"] is True
    env = {item["name"]: item["value"] for item in container("registry")["env"]}
    key_file = Path(env["TANDEM_REGISTRY_SIGNING_KEY_FILE"])
    assert key_file.parent == Path(mounts[volume["name"]]["mountPath"])
    assert key_file.name in key_secret["stringData"]
    assert json.loads(env["TANDEM_REGISTRY_PUBLISHED_KEY_FILES"]) == []


def test_the_notifier_gets_the_settings_production_requires() -> None:
    """Prod refuses the dev unsubscribe secret and the dev public URL: both must be given."""
    env = compose_env("notifier")
    secret = env["TANDEM_NOTIFIER_UNSUBSCRIBE_SECRET"]
    assert secret.startswith("${TANDEM_NOTIFIER_UNSUBSCRIBE_SECRET:?")
    assert env["TANDEM_NOTIFIER_PUBLIC_URL"].startswith("${TANDEM_NOTIFIER_PUBLIC_URL:-http")
    assert "TANDEM_NOTIFIER_UNSUBSCRIBE_SECRET" in k8s_object("Secret", SECRET)["stringData"]
    k8s_env = {item["name"]: item["value"] for item in container("notifier").get("env", [])}
    assert k8s_env["TANDEM_NOTIFIER_PUBLIC_URL"].startswith("https://")


@per_image
def test_deployment_probes_the_port_its_service_targets(service: str) -> None:
    (service_port,) = k8s_object("Service", service)["spec"]["ports"]
    target = container_port(service, service_port.get("targetPort", service_port["port"]))
    assert target == IMAGES[service]
    assert probe(service, "livenessProbe")[:2] == ("/healthz", target)
    assert probe(service, "readinessProbe")[:2] == ("/readyz", target)
    path, port, budget = probe(service, "startupProbe")
    assert (path, port) == ("/healthz", target)
    assert budget >= 60


@per_image
def test_deployment_runs_locked_down(service: str) -> None:
    assert security_setting(service, "runAsNonRoot") is True
    assert security_setting(service, "runAsUser") == 10001
    assert security_setting(service, "readOnlyRootFilesystem") is True
    assert security_setting(service, "allowPrivilegeEscalation") is False
    volumes = {volume["name"]: volume for volume in pod_spec(service).get("volumes", [])}
    mounts = {mount["mountPath"]: mount["name"] for mount in container(service)["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    resources = container(service)["resources"]
    for bound in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[bound])


@per_image
def test_deployment_is_configured_from_the_config_map_and_secret(service: str) -> None:
    spec = container(service)
    assert spec["image"] == f"ghcr.io/tandem/{service}:0.1.0"
    sources = {(key, ref["name"]) for entry in spec["envFrom"] for key, ref in entry.items()}
    assert {("configMapRef", CONFIG_MAP), ("secretRef", SECRET)} <= sources
    assert k8s_object("ConfigMap", CONFIG_MAP) and k8s_object("Secret", SECRET)


@per_image
def test_service_selects_the_deployment_pods(service: str) -> None:
    deployment = k8s_object("Deployment", service)["spec"]
    labels = deployment["template"]["metadata"]["labels"]
    assert deployment["replicas"] >= 2
    assert deployment["selector"]["matchLabels"].items() <= labels.items()
    spec = k8s_object("Service", service)["spec"]
    assert spec.get("type", "ClusterIP") == "ClusterIP"
    assert spec["selector"] and spec["selector"].items() <= labels.items()


def test_console_deployment_finds_the_services_in_the_cluster() -> None:
    env = {item["name"]: item["value"] for item in container("console").get("env", [])}
    for service, port in SERVICES.items():
        url = env[f"TANDEM_CONSOLE_{service.upper()}_URL"]
        (target,) = k8s_object("Service", service)["spec"]["ports"]
        assert url == f"http://{service}.tandem.svc.cluster.local:{port}"
        assert target["port"] == port


def test_console_ingress_serves_it_over_tls() -> None:
    ingress = k8s_object("Ingress", "console")["spec"]
    (tls,) = ingress["tls"]
    (rule,) = ingress["rules"]
    assert rule["host"] in tls["hosts"] and tls["secretName"]
    (path,) = rule["http"]["paths"]
    backend = path["backend"]["service"]
    assert backend["name"] == "console"
    (service_port,) = k8s_object("Service", "console")["spec"]["ports"]
    assert backend["port"] in ({"name": service_port["name"]}, {"number": service_port["port"]})


# ------------------------------------------------------------------------------ two-hub compose

FEDERATION = ROOT / "deploy" / "federation"
FEDERATION_HUBS = {"north": 8100, "south": 8200}


@functools.cache
def federation_compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((FEDERATION / "docker-compose.yml").read_text())
    return document


def federation_env(hub: str, service: str) -> dict[str, str]:
    env: dict[str, str] = federation_compose()["services"][f"{hub}-{service}"]["environment"]
    return env


def test_federation_compose_runs_each_hub_its_own_four_services() -> None:
    expected = {f"{hub}-{service}" for hub in FEDERATION_HUBS for service in SERVICES}
    assert set(federation_compose()["services"]) == {*INFRASTRUCTURE, *expected}
    published = [
        port
        for name, service in federation_compose()["services"].items()
        if name not in INFRASTRUCTURE
        for port in service["ports"]
    ]
    assert sorted(published) == sorted(
        f"{base + offset}:{port}"
        for base in FEDERATION_HUBS.values()
        for offset, port in enumerate(SERVICES.values(), start=1)
    )


@pytest.mark.parametrize("hub", sorted(FEDERATION_HUBS))
@per_service
def test_federation_compose_hub_has_its_own_hub_id_database_and_secrets(
    hub: str, service: str
) -> None:
    env = federation_env(hub, service)
    assert env["TANDEM_HUB"] == hub
    assert env[db_url_key(service)].endswith(f"/tandem_{hub}_{service}")
    for key, value in env.items():
        other = next(h for h in FEDERATION_HUBS if h != hub)
        if key != "TANDEM_TRUSTED_ISSUERS":
            assert other not in value.lower(), f"{hub}-{service} {key} names {other}"
    init = (FEDERATION / "init-databases.sql").read_text()
    assert f"CREATE DATABASE tandem_{hub}_{service} OWNER tandem;" in init


@pytest.mark.parametrize("hub", sorted(FEDERATION_HUBS))
@per_service
def test_federation_compose_trusts_each_registry_for_its_own_hub_only(
    hub: str, service: str
) -> None:
    issuers = trusted_issuers(federation_env(hub, service)["TANDEM_TRUSTED_ISSUERS"])
    assert {issuer: entry.hubs for issuer, entry in issuers.items()} == {
        f"http://{h}-registry:8001": [h] for h in FEDERATION_HUBS
    }
    assert [entry.network for entry in issuers.values()].count(True) == 1
    registry = federation_env(hub, "registry")
    assert registry["TANDEM_REGISTRY_ISSUER"] in issuers
    assert registry["TANDEM_REGISTRY_SIGNING_KEY"].startswith(
        f"${{TANDEM_{hub.upper()}_SIGNING_KEY:?"
    )


# ------------------------------------------------------------------------ per-hub overlays

OVERLAYS = K8S / "overlays"
per_hub = pytest.mark.parametrize("hub", ["north", "south"])


def overlay_patch(hub: str, kind: str) -> dict[str, Any]:
    (found,) = [
        doc
        for path in (OVERLAYS / hub).glob("*.yaml")
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] == kind
    ]
    patch: dict[str, Any] = found
    return patch


@per_hub
def test_an_overlay_builds_on_the_base_in_its_own_namespace(hub: str) -> None:
    kustomization = yaml.safe_load((OVERLAYS / hub / "kustomization.yaml").read_text())
    assert kustomization["resources"] == ["../.."]
    assert kustomization["namespace"] == f"tandem-{hub}"
    files = {patch["path"] for patch in kustomization["patches"] if "path" in patch}
    assert files == {path.name for path in (OVERLAYS / hub).glob("*.yaml")} - {"kustomization.yaml"}
    (renamed,) = [patch for patch in kustomization["patches"] if "target" in patch]
    assert renamed["target"] == {"kind": "Namespace", "name": "tandem"}
    assert yaml.safe_load(renamed["patch"]) == [
        {"op": "replace", "path": "/metadata/name", "value": f"tandem-{hub}"}
    ]
    # Strategic merge patches find their target by kind and name.
    assert overlay_patch(hub, "ConfigMap")["metadata"]["name"] == CONFIG_MAP
    assert overlay_patch(hub, "Secret")["metadata"]["name"] == SECRET


@per_hub
def test_an_overlay_runs_as_its_hub_on_the_network_cluster_as_its_principal(
    hub: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base's settings with the overlay's over them make valid production settings:
    the hub's id, SASL over TLS as User:hub-<hub>, its own registry trusted for it alone."""
    config = {
        **k8s_object("ConfigMap", CONFIG_MAP)["data"],
        **overlay_patch(hub, "ConfigMap")["data"],
    }
    secret = overlay_patch(hub, "Secret")["stringData"]
    for name, value in {**config, **secret}.items():
        monkeypatch.setenv(name, value)
    settings = ServiceSettings()
    assert (settings.hub, settings.environment) == (hub, "prod")
    assert (settings.kafka_security_protocol, settings.kafka_sasl_username) == (
        "SASL_SSL",
        f"hub-{hub}",
    )
    own = trusted_issuers(config["TANDEM_TRUSTED_ISSUERS"])[config["TANDEM_REGISTRY_ISSUER"]]
    assert own.hubs == [hub]
    assert own.jwks_url == (
        f"http://registry.tandem-{hub}.svc.cluster.local:8001/.well-known/jwks.json"
    )
    others = [i for i in settings.trusted_issuers if i.issuer != own.issuer]
    assert others and all(hub not in other.hubs for other in others)
    assert sum(issuer.network for issuer in settings.trusted_issuers) == 1
