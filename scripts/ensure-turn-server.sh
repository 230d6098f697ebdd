#!/usr/bin/env bash
# Video calls relay through coturn when a direct path fails (cordee/video, README "Video calls").
# Its test (tests/browser/test_video.py) starts Debian's turnserver on loopback: install the
# package when missing and we can (root with apt-get); otherwise say so: that test then skips,
# and fails when CI is set.
set -euo pipefail
if command -v turnserver >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing coturn for the video relay test…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn >/dev/null
else
  echo "warning: coturn not installed (apt-get install coturn); the TURN relay test will be skipped" >&2
fi
