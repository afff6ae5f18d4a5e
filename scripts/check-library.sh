#!/usr/bin/env bash
# Checks the `strata` library as a program embedding it gets it: its
# default build links no database client, it builds without any feature,
# and its documentation builds without a warning.
set -euo pipefail
cd "$(dirname "$0")/.."

clients='^(tokio-postgres|postgres-protocol|rusqlite|libsqlite3-sys|mysql_async|mysql_common|lettre|ureq) '
linked="$(cargo tree -p strata -e normal --prefix none | grep -E "$clients" | sort -u || true)"
if [ -n "$linked" ]; then
  echo "the strata library's default build links a database client or network service:" >&2
  echo "$linked" >&2
  exit 1
fi
for engine in postgres sqlite mysql; do
  if ! cargo tree -p strata -e normal --prefix none --features "$engine" | grep -qE "$clients"; then
    echo "the strata library's \`$engine\` feature links no client: the check above proves nothing" >&2
    exit 1
  fi
done
cargo clippy --quiet -p strata -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps -p strata -p strata_macros --features postgres,sqlite,mysql,notify,backup,cli
echo "library: the default build links no database client; it builds and its docs build without warnings"
