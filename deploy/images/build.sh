#!/usr/bin/env bash
# Build regstream's container images with podman, from Debian packages and this checkout only
# (no container registry needed):
#   localhost/regstream-debian:bookworm-<hash>   minimal Debian bookworm made by mmdebstrap
#   localhost/regstream:<version>                 the CLI, worker, gateway and demo (regstream/)
#   localhost/regstream-kafka:<kafka version>     KRaft broker from deploy/local/pom.xml's jars (kafka/)
#   localhost/regstream-haproxy:bookworm          the compose cluster's load balancer (haproxy/)
#   localhost/regstream-prometheus:bookworm       the compose cluster's Prometheus (prometheus/)
# Each image is also tagged with a hash of everything it is built from and is rebuilt only when
# that hash has no image yet, so a second run costs seconds. Usage: build.sh [IMAGE...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
podman=${PODMAN:-podman}

hash_of() {  # content hash of files and strings given as arguments
  local item
  for item in "$@"; do
    if [ -d "$item" ]; then
      find "$item" -type f ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | sort -z | xargs -0 sha256sum
    elif [ -f "$item" ]; then
      sha256sum "$item"
    else
      printf '%s\n' "$item"
    fi
  done | sed "s#$repo/##" | sha256sum | cut -c1-12
}

have() { "$podman" image exists "$1"; }

log() { printf 'images: %s\n' "$*" >&2; }

# --- the Debian base -------------------------------------------------------------------------
suite=bookworm
base_packages=ca-certificates,tini
base_recipe="mmdebstrap minbase $suite $base_packages nodoc v1"
base="localhost/regstream-debian:$suite-$(hash_of "$base_recipe")"
# The Debian mirrors this machine's apt uses for the suite, its updates and security updates;
# on another release (or without apt), mmdebstrap's default mirror for the suite alone.
mirrors() {
  command -v apt-get >/dev/null || return 0
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
    awk -v s="$suite" '$2 == s || $2 == s "-updates" || $2 == s "-security" { print "deb " $1 " " $2 " main" }' |
    sort -u
}
build_base() {
  have "$base" && return
  log "building $base with mmdebstrap"
  command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing (apt-get install mmdebstrap)" >&2; exit 1; }
  local tarball
  tarball=$(mktemp --suffix=.tar)
  local sources=()
  mapfile -t sources < <(mirrors)
  mmdebstrap --quiet --variant=minbase --include="$base_packages" \
    --aptopt='Acquire::Languages "none"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$suite" "$tarball" "${sources[@]}"
  "$podman" import --quiet --change 'CMD ["bash"]' "$tarball" "$base" >/dev/null
  rm -f "$tarball"
  drop_older localhost/regstream-debian "$base"
}

# A build fetches Python packages over HTTPS: it trusts what this machine trusts (a proxy's CA,
# say) during the build only; the images keep Debian's CA bundle.
trust=()
host_ca=/etc/ssl/certs/ca-certificates.crt
[ ! -f "$host_ca" ] || trust=(--volume "$host_ca:$host_ca:ro")

# --- images built on it ----------------------------------------------------------------------
build_image() {  # name stable-tag context hash-inputs...
  local name=$1 stable=$2 context=$3 image=regstream-$1
  shift 3
  [ "$name" != regstream ] || image=regstream
  local tagged="localhost/$image:$(hash_of "$base" "$here/$name" "$@")"
  if ! have "$tagged"; then
    log "building $tagged"
    "$podman" build --quiet --format docker --layers --build-arg "BASE=$base" "${trust[@]}" \
      -f "$here/$name/Containerfile" -t "$tagged" "$context" >/dev/null
  fi
  "$podman" tag "$tagged" "localhost/$image:$stable"
  drop_older "localhost/$image" "$tagged"
  log "ready: localhost/$image:$stable ($tagged)"
}

drop_older() {  # repository current-tag: remove the images of earlier builds (unless in use)
  "$podman" images --format '{{.Repository}}:{{.Tag}}' "$1" |
    grep -E ':([a-z]+-)?[0-9a-f]{12}$' | grep -vxF "$2" |
    xargs -r "$podman" rmi >/dev/null 2>&1 || true
}

regstream_image() {
  local version
  version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml" | head -1)
  build_image regstream "$version" "$repo" "$repo/pyproject.toml" "$repo/README.md" \
    "$repo/schemas" "$repo/streams" "$repo/gateway" "$repo/deploy/local"
}

kafka_image() {
  local libs context version
  libs=$(cd "$repo" && "${PYTHON:-$repo/.venv/bin/python}" -c \
    'from streams.broker.jars import ensure_classpath; print(ensure_classpath())')
  version=$(basename "$(ls "$libs"/kafka_2.13-*.jar)" .jar)
  version=${version#kafka_2.13-}
  context=$(mktemp -d)
  cp -r "$here/kafka/." "$context/"
  cp -rl "$libs" "$context/libs" 2>/dev/null || cp -r "$libs" "$context/libs"
  build_image kafka "$version" "$context" "$repo/deploy/local/pom.xml"
  rm -rf "$context"
}

build_base
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(regstream kafka haproxy prometheus)
for target in "${targets[@]}"; do
  case "$target" in
    regstream) regstream_image ;;
    kafka) kafka_image ;;
    haproxy | prometheus) build_image "$target" "$suite" "$here/$target" ;;
    *) echo "unknown image: $target" >&2; exit 2 ;;
  esac
done
