#!/usr/bin/env python3
"""Every key of values.yaml is commented: a comment line right above it or at its line's end.

Usage: check_values_comments.py VALUES_YAML. Prints each uncommented key; exit 1 if any.
Keys inside comment blocks (examples) and list items' own keys are not values of their own.
"""
import re
import sys

lines = open(sys.argv[1]).read().split("\n")
missing = []
for i, line in enumerate(lines):
    m = re.match(r"^( *)([A-Za-z][\w./-]*):", line)
    if not m:
        continue
    previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
    if not previous.strip().startswith("#") and "  # " not in line:
        missing.append(f"{i + 1}: {line.strip()}")
for m in missing:
    print(f"uncommented value: {m}")
sys.exit(1 if missing else 0)
