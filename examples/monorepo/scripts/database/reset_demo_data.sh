#!/bin/sh
# Empty the order tables of a demo database.
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "TRUNCATE order_items, orders"
echo "done: reset_demo_data"
