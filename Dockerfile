# syntax=docker/dockerfile:1
#
# One Dockerfile, one target per service:
#
#   docker build --target registry -t ghcr.io/tandem/registry:0.1.0 .
#   docker build --target matcher  -t ghcr.io/tandem/matcher:0.1.0  .
#   docker build --target events   -t ghcr.io/tandem/events:0.1.0   .
#   docker build --target notifier -t ghcr.io/tandem/notifier:0.1.0 .
#   docker build --target console  -t ghcr.io/tandem/console:0.1.0  .
#
# Each service is installed (non-editable, without dev dependencies) from the frozen
# workspace lock into /app/.venv in a `build-<service>` stage; the runtime stage copies
# only that virtualenv onto a clean python:3.11-slim and runs it as uid 10001.

# ---------------------------------------------------------------- builder (shared)
FROM python:3.11-slim AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /uvx /bin/
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Only the workspace metadata first, so the dependency layers survive source edits.
# Every member's pyproject.toml (tools included) must be present for the lock to resolve.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY services/registry/pyproject.toml services/registry/
COPY services/matcher/pyproject.toml services/matcher/
COPY services/events/pyproject.toml services/events/
COPY services/notifier/pyproject.toml services/notifier/
COPY services/console/pyproject.toml services/console/
COPY tools/pyproject.toml tools/

# ---------------------------------------------------------------- per-service builds
FROM builder AS build-registry
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package tandem-registry
COPY shared/ shared/
COPY services/ services/
COPY tools/ tools/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package tandem-registry

FROM builder AS build-matcher
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package tandem-matcher
COPY shared/ shared/
COPY services/ services/
COPY tools/ tools/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package tandem-matcher

FROM builder AS build-events
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package tandem-events
COPY shared/ shared/
COPY services/ services/
COPY tools/ tools/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package tandem-events

FROM builder AS build-notifier
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package tandem-notifier
COPY shared/ shared/
COPY services/ services/
COPY tools/ tools/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package tandem-notifier

FROM builder AS build-console
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --no-install-workspace --package tandem-console
COPY shared/ shared/
COPY services/ services/
COPY tools/ tools/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable --package tandem-console

# ---------------------------------------------------------------- runtime (shared)
FROM python:3.11-slim AS runtime
ENV PATH=/app/.venv/bin:$PATH \
    TANDEM_ENVIRONMENT=prod \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system --gid 10001 tandem \
 && useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin tandem
WORKDIR /app

# ---------------------------------------------------------------- service images
FROM runtime AS registry
COPY --from=build-registry /app/.venv /app/.venv
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8001/healthz', timeout=4)"]
CMD ["uvicorn", "tandem_registry.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8001"]

FROM runtime AS matcher
COPY --from=build-matcher /app/.venv /app/.venv
USER 10001:10001
EXPOSE 8002
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8002/healthz', timeout=4)"]
CMD ["uvicorn", "tandem_matcher.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8002"]

FROM runtime AS events
COPY --from=build-events /app/.venv /app/.venv
USER 10001:10001
EXPOSE 8003
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8003/healthz', timeout=4)"]
CMD ["uvicorn", "tandem_events.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8003"]

FROM runtime AS notifier
COPY --from=build-notifier /app/.venv /app/.venv
USER 10001:10001
EXPOSE 8004
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8004/healthz', timeout=4)"]
CMD ["uvicorn", "tandem_notifier.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8004"]

# The staff web console: no database; it calls the four services' HTTP APIs.
FROM runtime AS console
COPY --from=build-console /app/.venv /app/.venv
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["uvicorn", "tandem_console.app:create_app", "--factory", "--host", "0.0.0.0", "--port", "8000"]
