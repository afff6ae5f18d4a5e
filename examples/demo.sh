#!/usr/bin/env bash
# Builds strata and runs the blog example end to end on SQLite, in a
# temporary copy (no server needed): plan, up, status, history, down, up.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cargo build --quiet --release --manifest-path "$root/Cargo.toml" -p strata_cli
strata="$root/target/release/strata"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/examples/blog/." "$work/"
cd "$work"

step() { printf '\n$ strata %s\n' "$*"; "$strata" "$@"; }
step list
step plan
step up
step status --check
step verify
step down
step status
step up
step history
printf '\nThe example ran end to end on SQLite (in a temporary copy, now removed).\n'
