#!/usr/bin/env bash
# A Docker Engine API for the docker tests, and the local base images they build on.
#
#   eval "$(.ci/container-engine.sh)"        # exports DOCKER_HOST
#
# When a Docker engine (not a Podman one) already answers at DOCKER_HOST or
# /var/run/docker.sock, it is used as is. Otherwise Podman's Docker-compatible service is started on a unix socket (needs root and
# Debian's package archive). Idempotent: when everything is in place it takes well under a
# second. The last line printed is always `export DOCKER_HOST=...`.
#
# It also installs the Docker Compose CLI (docker-compose, from Debian) for the compose stack
# test, tests/compose/.
#
# Local images, built without any registry (Podman only):
#   localhost/flowpool-ci-busybox   busybox, 2 MB: fast containers for the infrastructure tests
#   localhost/flowpool-ci-python    Debian minbase + python3 + venv: the base of the flowpool
#                                   image (.ci/build-image.sh); 30-75 s the first time
#
# Why the Podman settings below (each one found by failing without it):
# - runc, not crun: crun refuses a hybrid cgroup v1/v2 layout, which some CI hosts have.
# - default_ulimits capped at the hard limits: an unprivileged sandbox cannot raise them, and
#   Podman's default (nofile 1048576) makes every container fail to start there.
# - cgroupfs and a file events logger: there is no systemd in a CI container.
# - catatonit: the init process of `--init` containers, so that a flow run gets the SIGTERM
#   of a cancel (PID 1 without a handler ignores it).
# Podman 4.3 can also hang a logs(follow=True) stream after the container exited; the docker
# infrastructure never relies on one ending by itself.
set -euo pipefail

STATE_DIR=/tmp/flowpool-ci
SOCKET="$STATE_DIR/podman.sock"
BUSYBOX_IMAGE=localhost/flowpool-ci-busybox:latest
PYTHON_IMAGE=localhost/flowpool-ci-python:latest
export CONTAINERS_CONF="$STATE_DIR/containers.conf"
export DEBIAN_FRONTEND=noninteractive

log() { echo "container-engine: $*" >&2; }

engine_answers() {  # $1: a unix:// address
  curl -sf --max-time 5 --unix-socket "${1#unix://}" http://engine/_ping >/dev/null 2>&1
}

is_docker_engine() {  # $1: a unix:// address; Podman's service also answers as "Docker"
  engine_answers "$1" && ! curl -sf --max-time 5 --unix-socket "${1#unix://}" \
    http://engine/version | grep -q '"Podman Engine"'
}

use_existing_engine() {
  local candidate
  for candidate in "${DOCKER_HOST:-}" unix:///var/run/docker.sock; do
    if [[ "$candidate" == unix://* ]] && is_docker_engine "$candidate"; then
      log "using the engine that answers at $candidate"
      echo "export DOCKER_HOST=$candidate"
      exit 0
    fi
  done
}

install_packages() {
  local missing=() package
  for package in podman runc catatonit uidmap slirp4netns fuse-overlayfs busybox-static \
                 debootstrap curl; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_compose_cli() {
  # docker-compose 1.29 (Python): it honours `depends_on` conditions, which podman-compose 1.0
  # does not; without Docker's recommended engine, as it talks to Podman's service
  command -v docker-compose >/dev/null && return
  log "installing docker-compose"
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
}

hard_limit_capped() {  # $1: ulimit flag, $2: cap
  local limit
  limit=$(ulimit -H "$1")
  if [ "$limit" = unlimited ] || [ "$limit" -gt "$2" ]; then echo "$2"; else echo "$limit"; fi
}

write_podman_config() {
  local nofile nproc
  nofile=$(hard_limit_capped -n 65536)
  nproc=$(hard_limit_capped -u 16384)
  cat > "$CONTAINERS_CONF.new" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
  mv "$CONTAINERS_CONF.new" "$CONTAINERS_CONF"
}

build_busybox_image() {
  podman image exists "$BUSYBOX_IMAGE" && return
  log "building $BUSYBOX_IMAGE"
  local root="$STATE_DIR/busybox-root" applet
  rm -rf "$root"
  mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev}
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  tar -C "$root" -c . | podman import -q --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' \
    - "$BUSYBOX_IMAGE" >/dev/null
  rm -rf "$root"
}

debian_mirror() {  # the mirror this machine's apt already uses, else Debian's own
  local mirror
  mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -oE '^(deb|URIs:)[[:space:]]+[^[:space:]]+/debian/?([[:space:]]|$)' \
    | awk '{print $2}' | head -n 1 || true)
  echo "${mirror:-http://deb.debian.org/debian}"
}

build_python_image() {
  podman image exists "$PYTHON_IMAGE" && return
  log "building $PYTHON_IMAGE (debootstrap, about a minute)"
  local root="$STATE_DIR/python-root" mirror
  mirror=$(debian_mirror)
  rm -rf "$root"
  debootstrap --variant=minbase --include=python3-minimal,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >/dev/null
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | podman import -q --change 'CMD ["/usr/bin/python3"]' \
    - "$PYTHON_IMAGE" >/dev/null
  rm -rf "$root"
}

start_podman_service() {
  engine_answers "unix://$SOCKET" && return
  log "starting the Podman service on $SOCKET"
  rm -f "$SOCKET"
  # from its own directory: conmon drops files (an `oom` marker) in the service's working directory
  (
    cd "$STATE_DIR" || exit 1
    setsid podman system service --time=0 "unix://$SOCKET" > "$STATE_DIR/service.log" 2>&1 &
    echo $! > "$STATE_DIR/service.pid"
  )
  local deadline=$((SECONDS + 20))
  until engine_answers "unix://$SOCKET"; do
    if ((SECONDS > deadline)); then
      log "the Podman service did not answer within 20 s:"; cat "$STATE_DIR/service.log" >&2
      exit 1
    fi
    sleep 0.1
  done
}

use_existing_engine
if [ "$(id -u)" != 0 ]; then
  log "no Docker engine answers, and starting Podman needs root"; exit 1
fi
mkdir -p "$STATE_DIR"
install_packages
install_compose_cli
write_podman_config
build_busybox_image
build_python_image
start_podman_service
echo "export DOCKER_HOST=unix://$SOCKET"
