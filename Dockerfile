# syntax=docker/dockerfile:1
# hablo's container image (docs/deploy.md).
#
#   docker build -t hablo .                                   # the default: `runtime`
#   docker build --target whatsapp-web -t hablo:whatsapp-web .  # adds Debian's Chromium
#
# One image runs every role: `hablo serve` (the edge, the default command), `hablo worker`
# and one-off commands (`hablo db upgrade`, `hablo backup`...). It runs as the unprivileged
# user `hablo`; its state (generated keys, mail written without SMTP) and the uploaded
# media files live in two volumes.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- builder: the wheel, installed with its dependencies into a venv ----------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m pip install build
COPY pyproject.toml README.md ./
COPY hablo ./hablo
RUN python -m build --wheel --outdir /wheels .
# Optional parts installed in the image: the e-mail channel's SMTP receiver and Sentry.
ARG HABLO_EXTRAS=email,sentry
RUN python -m venv /opt/hablo \
    && /opt/hablo/bin/pip install "$(ls /wheels/hablo-*.whl)[${HABLO_EXTRAS}]"

# -- base: what every runtime variant shares -----------------------------------------------
FROM ${PYTHON_IMAGE} AS base
# pg_dump/pg_restore for `hablo backup` and `hablo restore FILE`: the major version must be
# the server's (docker-compose.yml runs postgres:15; Debian 12's client is 15).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/hablo/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HABLO_HOST=0.0.0.0 \
    HABLO_PORT=8080 \
    HABLO_STATE_DIR=/var/lib/hablo \
    HABLO_LOG_FORMAT=json
RUN groupadd --system --gid 10001 hablo \
    && useradd --system --uid 10001 --gid hablo --home-dir /var/lib/hablo \
       --shell /usr/sbin/nologin hablo \
    && mkdir -p /var/lib/hablo/media \
    && chown -R hablo:hablo /var/lib/hablo
COPY --from=builder /opt/hablo /opt/hablo
WORKDIR /var/lib/hablo
# State (keys hablo generated, mail/) and media (files agents send; <state>/media).
VOLUME ["/var/lib/hablo", "/var/lib/hablo/media"]
EXPOSE 8080
# Liveness: /healthz answers without touching the database (python: the image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('HABLO_PORT', '8080'), timeout=4)"]
USER hablo
CMD ["hablo", "serve"]

# -- whatsapp-web: the WhatsApp Web channel drives Debian's Chromium ------------------------
# Playwright's own browser download does not work offline; hablo launches this executable
# (HABLO_WHATSAPP_WEB_CHROMIUM). WhatsApp Web runs with HABLO_ROUTER=inprocess only.
FROM base AS whatsapp-web
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji \
    && rm -rf /var/lib/apt/lists/*
ENV HABLO_WHATSAPP_WEB_CHROMIUM=/usr/bin/chromium
USER hablo

# -- runtime: the default image (last, so a plain `docker build` makes it) ------------------
FROM base AS runtime
USER hablo
