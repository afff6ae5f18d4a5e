#!/usr/bin/env bash
# Builds the embedded example and runs it twice on a new SQLite file and on
# a new PostgreSQL database (STRATA_TEST_POSTGRES_URL's server, default the
# local one): the first start applies both migrations, the second none.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cargo build --quiet --manifest-path "$root/Cargo.toml" -p strata-example-embedded
example="$root/target/debug/strata-example-embedded"

admin="${STRATA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
database="strata_example_$$"
work="$(mktemp -d)"
cleanup() {
  rm -rf "$work"
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $database" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -q "$admin" -c "CREATE DATABASE $database" >/dev/null

check() {
  local url="$1" expected="$2" out
  out="$("$example" "$url")"
  printf '%s\n' "$out"
  grep -qx "applied $expected migration(s)" <<<"$out" || {
    echo "expected $expected migration(s) applied on $url" >&2
    exit 1
  }
}
for url in "sqlite://$work/notes.db" "${admin%/*}/$database"; do
  echo "\$ strata-example-embedded $url"
  check "$url" 2
  check "$url" 0
done
echo "The embedded example ran on SQLite and PostgreSQL."
