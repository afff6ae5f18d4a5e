#!/usr/bin/env bash
# Starts the local PostgreSQL the tests run against, if it is not answering.
# Safe to run again; used by .ci/run and by developers.
set -euo pipefail

answering() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed; install it (apt-get install postgresql) or point STRATA_TEST_POSTGRES_URL at a server" >&2
  exit 2
fi
if ! answering; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 60); do answering && break; sleep 0.5; done
fi
answering || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 2; }
echo "PostgreSQL is answering on 127.0.0.1:5432"
