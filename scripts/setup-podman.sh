#!/usr/bin/env bash
# Sets up a container runtime for the container peer on a machine WITHOUT Docker (idempotent, a
# few seconds when done): podman + runc, a containers.conf, the podman API socket as DOCKER_HOST
# (testcontainers speaks the Docker API to it), and the wslab peer image built locally from a
# debootstrap minbase rootfs (no registry needed). Writes .cache/podman.env, which the container
# backend reads by itself, so callers need not source anything.
#   bash scripts/setup-podman.sh            # install/start/build as needed, print the env
#   bash scripts/setup-podman.sh --rebuild  # force a fresh image build
# The image is rebuilt only when fixtures/container/* change (their hash is the image label wslab.inputs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.cache/container
image=${WSLAB_PEER_IMAGE_TAG:-localhost/wslab-peer:bookworm}
base=localhost/wslab-minbase:bookworm
sock=${WSLAB_PODMAN_SOCKET:-/run/podman/podman.sock}
mirror=${WSLAB_DEBIAN_MIRROR:-}
rebuild=0
[ "${1:-}" = "--rebuild" ] && rebuild=1
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
log() { echo "setup-podman: $*" >&2; }
t0=$(date +%s)

if [ "$(id -u)" -ne 0 ]; then
  log "run as root (sudo bash scripts/setup-podman.sh): it installs packages and runs the podman API socket"
  exit 1
fi

# 1. Packages.
missing=()
for p in podman runc debootstrap curl; do command -v "$p" >/dev/null 2>&1 || [ -x "/usr/sbin/$p" ] || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_get update -qq
  # uidmap: rootless use later; ca-certificates: debootstrap from https mirrors.
  apt_get install -y -qq --no-install-recommends "${missing[@]}" uidmap ca-certificates >/dev/null
fi

# 2. containers.conf: runc (crun is not in bookworm's podman deps), ulimits nginx is happy with.
conf=/etc/containers/containers.conf
want='# written by wslab scripts/setup-podman.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"'
if [ ! -f "$conf" ] || ! grep -q 'wslab scripts/setup-podman.sh' "$conf"; then
  [ -f "$conf" ] && cp "$conf" "$conf.wslab-backup"
  mkdir -p /etc/containers
  printf '%s\n' "$want" > "$conf"
  log "wrote $conf"
fi

# 3. The Docker-compatible API socket, in the background; it outlives this script, and so it runs
#    from / with its log outside the checkout: a service whose working directory was removed (a
#    deleted clone that started it) answers every container start with a 500 "write child: broken
#    pipe". Such a service, left by an older version of this script, is stopped and started anew.
export DOCKER_HOST=unix://$sock
service_log=/var/log/wslab-podman-service.log
api_ok() { curl -sf --unix-socket "$sock" http://d/_ping >/dev/null 2>&1; }
for pid in $(pgrep -f "podman system service .*unix://$sock" || true); do
  case "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" in
    *" (deleted)")
      log "stopping podman system service $pid: its working directory was removed"
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      ;;
  esac
done
if ! api_ok; then
  mkdir -p "$(dirname "$sock")"
  log "starting podman system service on $sock (log: $service_log)"
  (cd / && nohup setsid podman system service --time=0 "unix://$sock" >"$service_log" 2>&1 </dev/null &)
  for _ in $(seq 1 100); do api_ok && break; sleep 0.1; done
  api_ok || { log "the podman API did not answer on $sock; see $service_log"; exit 1; }
fi

# 4. The peer image, rebuilt only when its inputs change.
inputs=$(cat fixtures/container/Dockerfile fixtures/container/install.sh | sha256sum | cut -c1-16)
have=$(podman image inspect "$image" --format '{{index .Labels "wslab.inputs"}}' 2>/dev/null || true)
if [ "$rebuild" = 1 ] || [ "$have" != "$inputs" ]; then
  mkdir -p "$cache"
  tarball=$cache/minbase-bookworm.tar
  if [ ! -s "$tarball" ]; then
    # Same Debian mirror as this machine's apt sources (deb.debian.org unless configured otherwise).
    if [ -z "$mirror" ]; then
      mirror=$(grep -hsoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -v security | head -1 | awk '{print $2}' || true)  # grep exits 2 on an absent file (pipefail)
      mirror=${mirror:-http://deb.debian.org/debian}
    fi
    log "debootstrap --variant=minbase bookworm from $mirror"
    rootfs=$(mktemp -d)
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
      || { log "debootstrap failed; see $cache/debootstrap.log"; rm -rf "$rootfs"; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    # The host's apt sources (main + updates + security), without third-party repositories.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/debian.sources"
      : > "$rootfs/etc/apt/sources.list"
    fi
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  if ! podman image exists "$base"; then
    log "importing the minbase rootfs as $base"
    podman import "$tarball" "$base" >/dev/null
  fi
  log "building $image (inputs $inputs)"
  podman build --network host --build-arg "BASE=$base" --label "wslab.inputs=$inputs" \
    -t "$image" fixtures/container >"$cache/build.log" 2>&1 \
    || { log "image build failed; see $cache/build.log"; exit 1; }
  podman image prune -f >/dev/null 2>&1 || true
  log "built $image in $(( $(date +%s) - t0 )) s"
fi

# 5. The env file the container backend reads (and for shells: `. .cache/podman.env`).
cat > "$root/.cache/podman.env" <<ENV
DOCKER_HOST=unix://$sock
TESTCONTAINERS_RYUK_DISABLED=true
TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
WSLAB_PEER_IMAGE=$image
ENV
cat "$root/.cache/podman.env"
log "ready in $(( $(date +%s) - t0 )) s"
