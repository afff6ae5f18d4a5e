#!/bin/sh
# Trim stray spaces from store names.
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "UPDATE stores SET name = btrim(name) WHERE name <> btrim(name)"
echo "done: fix_store_names"
