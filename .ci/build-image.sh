#!/usr/bin/env bash
# Build the flowpool image (the Dockerfile at the root) on the local container engine, for the
# docker tests and for docker work pools on this machine.
#
#   .ci/build-image.sh [TAG]          # TAG defaults to flowpool:latest
#
# Run .ci/container-engine.sh first. The image is rebuilt only when the sources, the Dockerfile
# or the base image changed (their hash is a label of the image); otherwise this takes a second.
#
# How: the wheels of flowpool and of all its dependencies are made by pip *inside* a container
# of the base image (so the wheels and the environment markers match the image's Python, which
# may differ from this machine's), with this machine's pip settings passed in (PIP_CERT for a
# TLS-inspecting proxy, PIP_INDEX_URL, PIP_EXTRA_INDEX_URL) and a pip cache kept between runs.
# The image is then built with WHEELHOUSE set, so the build itself needs no network at all.
#
# Settings (environment):
#   PYTHON_IMAGE  base image; default localhost/flowpool-ci-python:latest when it exists
#                 (made by .ci/container-engine.sh), else python:3.11-slim
set -euo pipefail

TAG=${1:-flowpool:latest}
REPO=$(cd "$(dirname "$0")/.." && pwd)
STATE_DIR=/tmp/flowpool-ci
PIP_CACHE="$STATE_DIR/pip-cache"
SOURCES=(pyproject.toml orchestrator workers config)
HASH_LABEL=flowpool.io/source-hash

log() { echo "build-image: $*" >&2; }

choose_engine_cli() {
  # Podman's CLI and service share one image store, so a Podman build is seen by the service.
  if command -v podman >/dev/null && [ -f "$STATE_DIR/containers.conf" ]; then
    echo podman
  elif command -v docker >/dev/null; then
    echo docker
  else
    log "neither podman nor docker is installed: run .ci/container-engine.sh first"; exit 1
  fi
}

choose_python_image() {
  if [ -n "${PYTHON_IMAGE:-}" ]; then echo "$PYTHON_IMAGE"
  elif $ENGINE image inspect localhost/flowpool-ci-python:latest >/dev/null 2>&1; then
    echo localhost/flowpool-ci-python:latest
  else echo python:3.11-slim
  fi
}

source_hash() {
  local base_id
  base_id=$($ENGINE image inspect --format '{{.Id}}' "$BASE" 2>/dev/null || echo "$BASE")
  {
    echo "$base_id"
    cd "$REPO"
    find "${SOURCES[@]}" Dockerfile -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 \
      | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

image_hash() {
  $ENGINE image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$TAG" 2>/dev/null \
    || true
}

stage_context() {  # the sources only: no .git, virtualenvs or caches reach the build
  (cd "$REPO" && tar --exclude=__pycache__ --exclude='*.pyc' -c "${SOURCES[@]}") \
    | tar -x -C "$CONTEXT"
  [ -f "$REPO/README.md" ] && cp "$REPO/README.md" "$CONTEXT/"
  mkdir -p "$CONTEXT/wheelhouse"
}

pip_settings_args() {
  local cert=${PIP_CERT:-}
  [ -z "$cert" ] && cert=$(python3 -m pip config get global.cert 2>/dev/null || true)
  if [ -n "$cert" ] && [ -f "$cert" ]; then
    echo "-v $cert:/etc/flowpool-pip-cert.pem:ro -e PIP_CERT=/etc/flowpool-pip-cert.pem"
  fi
  # only indexes a container can reach: file:// ones live on this machine
  [[ "${PIP_INDEX_URL:-}" == http* ]] && echo "-e PIP_INDEX_URL=$PIP_INDEX_URL"
  [[ "${PIP_EXTRA_INDEX_URL:-}" == http* ]] && echo "-e PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL"
  return 0
}

build_wheelhouse() {
  mkdir -p "$PIP_CACHE"
  # shellcheck disable=SC2046  # the settings are separate words on purpose
  $ENGINE run --rm -v "$CONTEXT:/build" -v "$PIP_CACHE:/root/.cache/pip" \
    -e PIP_DISABLE_PIP_VERSION_CHECK=1 $(pip_settings_args) "$BASE" \
    sh -c 'python3 -m venv /tmp/wheel-builder && cp -r /build /tmp/src &&
           /tmp/wheel-builder/bin/pip wheel -q --wheel-dir /build/wheelhouse "/tmp/src[kubernetes,postgres]"'
}

build_image() {
  local podman_args=()
  # Podman 4.3 would reuse the install step even when the mounted wheels changed; and without
  # intermediate layers no stage image is left behind.
  [ "$ENGINE" = podman ] && podman_args=(--no-cache --layers=false)
  $ENGINE build "${podman_args[@]}" -q -f "$REPO/Dockerfile" \
    --build-arg PYTHON_IMAGE="$BASE" --build-arg WHEELHOUSE=wheelhouse \
    --label "$HASH_LABEL=$HASH" -t "$TAG" "$CONTEXT" >/dev/null
  # the images this replaced, now untagged
  $ENGINE image prune -f --filter "label=$HASH_LABEL" >/dev/null
}

ENGINE=$(choose_engine_cli)
# the settings .ci/container-engine.sh wrote for this machine, for the CLI as for the service
[ "$ENGINE" = podman ] && export CONTAINERS_CONF="$STATE_DIR/containers.conf"
BASE=$(choose_python_image)
HASH=$(source_hash)
# One build of a tag at a time (parallel test processes ask at once): the next one finds it
# up to date.
mkdir -p "$STATE_DIR"
exec 9>"$STATE_DIR/build-$(echo "$TAG" | tr -c 'a-zA-Z0-9\n' _).lock"
flock 9
if [ "$(image_hash)" = "$HASH" ]; then
  log "$TAG is up to date ($HASH_LABEL=$HASH)"; exit 0
fi
CONTEXT=$(mktemp -d "${TMPDIR:-/tmp}/flowpool-image.XXXXXX")
trap 'rm -rf "$CONTEXT"' EXIT
started=$SECONDS
stage_context
log "making the wheelhouse in $BASE"
build_wheelhouse
log "building $TAG from $BASE"
build_image
log "built $TAG ($HASH_LABEL=$HASH) in $((SECONDS - started)) s"
