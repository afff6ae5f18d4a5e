#!/usr/bin/env bash
# Runs every test of the workspace and ends with one summary line
# ("N passed, N failed, N skipped"). Tests use the local PostgreSQL when it
# answers (bash scripts/start-servers.sh starts it); with
# STRATA_REQUIRE_SERVERS=1 an unreachable server fails them instead of
# skipping them.
set -uo pipefail
cd "$(dirname "$0")/.."
log="$(mktemp)"
# Tests that miss a server or tool write why here (strata_test_support::skipped).
export STRATA_SKIP_LOG="$(mktemp)"
trap 'rm -f "$log" "$STRATA_SKIP_LOG"' EXIT
# Most tests wait on a server or a strata process rather than compute, so
# more of them than there are cores run at once.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
cargo test --workspace "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
if [ -s "$STRATA_SKIP_LOG" ]; then
  echo "skipped (a server or tool was missing):"
  sort "$STRATA_SKIP_LOG" | uniq -c | sed 's/^/  /'
fi
skipped=$(wc -l < "$STRATA_SKIP_LOG")
awk -v s="$skipped" '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) g += $i } }
     END { if (g) printf "(%d ignored)\n", g; printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
