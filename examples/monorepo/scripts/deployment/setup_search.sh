#!/bin/sh
# Let store names be searched by similarity (needs pg_trgm).
# strata:requires backend/create_stores_table
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE INDEX IF NOT EXISTS stores_name_trgm ON stores USING gin (name gin_trgm_ops)"
echo "search index ready"
