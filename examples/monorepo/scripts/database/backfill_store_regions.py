#!/usr/bin/env python3
"""Set the region of stores from their city."""
import sys

from _db import execute

execute("UPDATE stores SET region = CASE WHEN city IN ('Berlin', 'Hamburg') THEN 'north' ELSE 'south' END WHERE region = 'unknown'")
print("regions backfilled")
