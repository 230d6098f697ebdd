#!/usr/bin/env bash
# Backups (cordee/backups) run Debian's restic, and pg_dump/pg_restore of the server's major version
# (PostgreSQL 15: postgresql-client-15). Install them when missing and we can (root with apt-get);
# otherwise say so: the backup tests then skip, and fail when CI is set.
set -euo pipefail
missing=()
command -v restic >/dev/null 2>&1 || missing+=(restic)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${missing[*]} for the backups…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "warning: ${missing[*]} not installed (apt-get install ${missing[*]}); backup tests will be skipped" >&2
fi
