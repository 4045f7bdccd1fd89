#!/usr/bin/env bash
# Install Debian packages for a make target: `apt-install.sh WHAT PACKAGE...` (WHAT says who
# needs them). As root it runs apt-get; otherwise it says what to install and fails.
set -euo pipefail
what=$1
shift
[ $# -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "$what needs: $* (run as root, or: sudo apt-get install $*)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "$@" >/dev/null
