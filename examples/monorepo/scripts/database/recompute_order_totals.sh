#!/bin/sh
# Recompute every order's total from its lines.
set -eu
psql -X -q -v ON_ERROR_STOP=1 -c "UPDATE orders o SET total_cents = coalesce((SELECT sum(oi.quantity * p.price_cents) FROM order_items oi JOIN products p ON p.id = oi.product_id WHERE oi.order_id = o.id), 0)"
echo "done: recompute_order_totals"
