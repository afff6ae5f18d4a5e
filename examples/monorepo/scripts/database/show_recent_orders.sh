#!/bin/sh
# The last ten orders.
# strata: readonly
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT id, store_id, placed_at, total_cents FROM orders ORDER BY placed_at DESC LIMIT 10"
