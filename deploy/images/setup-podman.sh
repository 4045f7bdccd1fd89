#!/usr/bin/env bash
# Make this Debian machine able to build and run regstream's images with podman: install podman,
# runc, podman-compose and mmdebstrap if missing, and give podman the settings a host without
# systemd needs (cgroupfs, runc, no default ulimits). Idempotent: a configured machine is left as is.
# Machines with Docker or an already working podman need none of this.
set -euo pipefail
want=(podman runc podman-compose mmdebstrap uidmap containernetworking-plugins
      golang-github-containernetworking-plugin-dnsname)
missing=()
for package in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
bash "$(dirname "$0")/../local/apt-install.sh" "the container images" "${missing[@]}"

# Without systemd, podman must manage cgroups itself; the default ulimits of the packaged
# configuration name limits that a nested container may not raise.
conf=/etc/containers/containers.conf
marker="# regstream: podman without systemd"
if ! grep -qF "$marker" "$conf" 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "podman needs configuring in $conf (run as root)" >&2
    exit 1
  fi
  if [ -s "$conf" ]; then
    cp "$conf" "$conf.before-regstream"
  fi
  cat > "$conf" <<CONF
$marker
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi
