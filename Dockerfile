# syntax=docker/dockerfile:1
# modelwatch image: one image for every role (api, worker, beat, flower, migrate);
# docker-compose.yml picks the role with `command:`.

# The React dashboard, built from the committed package-lock.json; only its output reaches the image.
FROM node:20-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Install the package (not editable) with every extra the roles need (API, Flower, PostgreSQL,
# Redis, the MLflow adapter), at the exact versions the test suite ran on (constraints.txt);
# the source copy is removed afterwards. .dockerignore keeps .venv, .git, tests and local state
# out of the build context.
COPY . /tmp/modelwatch-src
COPY --from=web /src/frontdoors/dashboard/static/app /tmp/modelwatch-src/frontdoors/dashboard/static/app
RUN pip install -c /tmp/modelwatch-src/constraints.txt "/tmp/modelwatch-src[server,postgres,redis,mlflow]" \
    && rm -rf /tmp/modelwatch-src

# Non-root runtime user; MODELWATCH_DATA_DIR is its writable state directory
# (docker-compose.yml mounts a named volume there).
RUN groupadd --system --gid 10001 modelwatch \
    && useradd --system --uid 10001 --gid modelwatch --home-dir /home/modelwatch \
       --create-home --shell /usr/sbin/nologin modelwatch \
    && mkdir -p /var/lib/modelwatch \
    && chown modelwatch:modelwatch /var/lib/modelwatch

ENV MODELWATCH_DATA_DIR=/var/lib/modelwatch
WORKDIR /var/lib/modelwatch
USER modelwatch

EXPOSE 8000
CMD ["modelwatch", "serve", "--host", "0.0.0.0", "--port", "8000"]
