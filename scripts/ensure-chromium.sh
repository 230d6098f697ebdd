#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (test tools may not download browsers here).
# Install it when missing and we can (root with apt-get); otherwise say so: those tests then
# skip, and fail when CI is set.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "warning: chromium is not installed (apt-get install chromium); browser tests will be skipped" >&2
fi
