#!/usr/bin/env bash
# Runs every test of the workspace and ends with one summary line
# ("N passed, N failed, N ignored"). Tests use the local PostgreSQL when it
# answers (bash scripts/start-servers.sh starts it); with
# STRATA_REQUIRE_SERVERS=1 an unreachable server fails them instead of
# skipping them.
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) g += $i } }
     END { printf "%d passed, %d failed, %d ignored\n", p, f, g }' "$log"
exit "$status"
