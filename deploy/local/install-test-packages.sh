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
bash "$(dirname "$0")/apt-install.sh" tests "${missing[@]}"
