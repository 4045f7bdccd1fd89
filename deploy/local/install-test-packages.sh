#!/usr/bin/env bash
# Install the Debian packages regstream's tests drive for real: kcat (a Kafka client we did not
# write, for interoperability tests), chromium (the dashboard's browser tests), nodejs (the
# browser client module's unit tests) and npm (it installs the Strimzi CRD schemas that the
# Kubernetes manifests are checked against).
set -euo pipefail
missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "tests need: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
