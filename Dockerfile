# syntax=docker/dockerfile:1
# One image for every Python process of the mesh; docker-compose.yml picks the command:
#   python -m prompt_svc | image_svc | conversation_svc   (gRPC on 50051 / 50052 / 50053)
#   celery -A conversation_svc.worker worker               (the pipeline)
#   python -m devstack.media_server                        (the Media Service stand-in, 8090)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

# --- build: resolve the locked runtime dependencies into /app/.venv -------------------------
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Only the lock decides this layer, so a source change does not reinstall dependencies.
# Neither the `dev` nor the `local` group (embedded databases) goes to production, and the
# project itself is not installed: its packages run from /app (see PYTHONPATH below).
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-default-groups --no-dev --no-install-project

# --- runtime -----------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 photofun \
 && useradd --system --uid 10001 --gid photofun --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin photofun \
 && mkdir -p /data/media \
 && chown photofun:photofun /data/media
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
# gen/ holds the committed stubs, imported as `photofun.v1...`: it goes on the path beside /app,
# as the editable install does in development.
COPY gen ./gen
COPY mesh ./mesh
COPY prompt_svc ./prompt_svc
COPY image_svc ./image_svc
COPY conversation_svc ./conversation_svc
COPY devstack ./devstack
ENV PATH=/app/.venv/bin:$PATH \
    VIRTUAL_ENV=/app/.venv \
    PYTHONPATH=/app:/app/gen \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER photofun:photofun
EXPOSE 50051 50052 50053 8090
CMD ["python", "-m", "conversation_svc", "--host", "0.0.0.0"]
