#!/usr/bin/env python3
"""Start a product's price history from its current price where it has none."""
import sys

from _db import execute

execute("INSERT INTO price_history (product_id, price_cents) SELECT id, price_cents FROM products p WHERE NOT EXISTS (SELECT 1 FROM price_history h WHERE h.product_id = p.id)")
print("price history rebuilt")
