#!/bin/sh
# How far the tree is from tsc's noUncheckedIndexedAccess: the error count, per file, most first.
# Not on in tsconfig.json yet: it flags hundreds of lines (752 in 64 files on 2026-12-03, a third of them in
# simulate/explore.ts, findings/findings.ts and parse/memory.ts), which is a change of its own.
# Usage: sh scripts/strict-index.sh [-v]   (-v also lists every error)
cd "$(dirname "$0")/.." || exit 2
out=$(npx tsc -p . --noEmit --noUncheckedIndexedAccess 2>&1)
[ "$1" = "-v" ] && printf '%s\n' "$out" | grep 'error TS'
printf '%s\n' "$out" | grep 'error TS' | cut -d'(' -f1 | sort | uniq -c | sort -rn
printf '%s errors with noUncheckedIndexedAccess\n' "$(printf '%s\n' "$out" | grep -c 'error TS')"
