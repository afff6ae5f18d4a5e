#!/bin/sh
# Rows per table, for a quick look.
# strata: readonly
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT relname, n_live_tup FROM pg_stat_user_tables ORDER BY relname"
