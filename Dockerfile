# flowpool's image: the default image of docker work pools, and the image of the server,
# scheduler and workers in a compose file or a cluster.
#
#   docker build -t flowpool:latest .
#
# Build arguments:
#   PYTHON_IMAGE  any Debian-like image with python3.11 and its venv module
#                 (default python:3.11-slim)
#   WHEELHOUSE    empty (default): build flowpool's wheel from this checkout and fetch its
#                 dependencies from PyPI. A directory of the build context instead: install
#                 only the wheels found there, without any index, for builders that cannot
#                 reach PyPI (.ci/build-image.sh prepares such a context).
#
# Podman/buildah 4.3 do not key a cached RUN step by what it mounts: rebuild with --no-cache
# there when the sources changed.
ARG PYTHON_IMAGE=python:3.11-slim

FROM ${PYTHON_IMAGE} AS wheels
ARG WHEELHOUSE=""
COPY pyproject.toml /src/
COPY orchestrator /src/orchestrator
COPY workers /src/workers
COPY config /src/config
RUN --mount=type=bind,target=/context \
    mkdir /wheels \
    && if [ -n "$WHEELHOUSE" ]; then cp "/context/$WHEELHOUSE"/*.whl /wheels/; \
       else python3 -m venv /opt/wheel-builder \
            && /opt/wheel-builder/bin/pip wheel --no-cache-dir --wheel-dir /wheels "/src[kubernetes,postgres]"; \
       fi

FROM ${PYTHON_IMAGE}
ENV VIRTUAL_ENV=/opt/flowpool \
    PATH=/opt/flowpool/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# git: for the git_clone pull step and flows that read repositories
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends git ca-certificates >/dev/null \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/flowpool
# The wheels are mounted, not copied, so no layer of the image keeps them.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/tmp/wheels \
    pip install --no-cache-dir --no-index --find-links /tmp/wheels "flowpool[kubernetes,postgres]" \
    && python -c "import orchestrator.engine.run, workers.execution"
WORKDIR /app
CMD ["flowpool", "--help"]
