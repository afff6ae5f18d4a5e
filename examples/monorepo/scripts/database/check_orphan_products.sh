#!/bin/sh
# Products whose store is gone (there should be none).
# strata: readonly
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM products p LEFT JOIN stores s ON s.id = p.store_id WHERE s.id IS NULL"
