#!/usr/bin/env bash
# Build the images of the compose stack's Redis and PostgreSQL from Debian's packages, for a
# machine that cannot pull them from a registry (run .ci/container-engine.sh first):
#
#   .ci/build-service-images.sh     # localhost/flowpool-ci-redis, localhost/flowpool-ci-postgres
#
# Each is built once; delete the image to rebuild it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BASE=localhost/flowpool-ci-python:latest
export CONTAINERS_CONF=/tmp/flowpool-ci/containers.conf

for service in redis postgres; do
  tag=localhost/flowpool-ci-$service:latest
  podman image exists "$tag" && continue
  echo "build-service-images: building $tag from Debian's packages" >&2
  podman build -q --build-arg BASE_IMAGE="$BASE" -f "$HERE/images/$service.Containerfile" \
    -t "$tag" "$HERE/images" >/dev/null
done
