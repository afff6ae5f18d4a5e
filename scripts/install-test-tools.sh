#!/usr/bin/env bash
# Installs the real migration tools some tests use to write a history table
# the way the tool itself does (dbmate, from its npm package). Idempotent;
# the tools go to target/test-tools.
set -euo pipefail
cd "$(dirname "$0")/.."

# The database clients backups run: pg_dump/pg_restore and mysqldump/mysql.
missing=()
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
{ command -v mariadb-dump || command -v mysqldump; } >/dev/null 2>&1 || missing+=(mariadb-client)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]} (backups use them)"
  apt-get install -y -q "${missing[@]}" >/dev/null
fi

dir=target/test-tools
if [ -x "$dir/node_modules/.bin/dbmate" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is not installed: the tests that run the real dbmate will be skipped (or fail with STRATA_REQUIRE_SERVERS=1)" >&2
  exit 0
fi
mkdir -p "$dir"
npm install --silent --no-audit --no-fund --prefix "$dir" dbmate@2.36.0 >/dev/null
echo "installed dbmate $("$dir/node_modules/.bin/dbmate" --version)"
