#!/usr/bin/env bash
# The Debian packages the tests start for real (test tools may not download them here).
# Usage: ensure-debian-packages.sh "what needs them" COMMAND:PACKAGE...
# Installs the packages whose command is missing when we can (root with apt-get); otherwise says
# so: the tests that need them then skip, and fail when CI is set.
set -euo pipefail
what=$1
shift
missing=()
for pair in "$@"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} for ${what}…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "warning: ${missing[*]} not installed (apt-get install ${missing[*]}); ${what} will be skipped" >&2
fi
