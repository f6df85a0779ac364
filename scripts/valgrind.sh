#!/usr/bin/env bash
# Runs the native backend's workload (scripts/valgrind-workload.mjs) under valgrind memcheck
# against a real MIT KDC started on loopback in a temp dir, and fails on any invalid access or
# definite/indirect leak whose stack passes through the addon (spnego_native.node). Node's own
# and the Kerberos libraries' one-time allocations are not the addon's and are not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
addon=$(node -p "require('node-gyp-build').path('.')" 2>/dev/null) || { echo "valgrind.sh: the addon is not built (npm run build:native)" >&2; exit 1; }
name=$(basename "$addon" | sed 's/\./\\./g')
[ -f dist/esm/index.js ] || node scripts/build.mjs
state=$(mktemp -d /tmp/spnego-valgrind-XXXXXX)
trap 'bash test/peers/mit-kdc.sh clean "$state/kdc" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
eval "$(SPNEGO_NO_APT=1 bash test/peers/mit-kdc.sh up "$state/kdc" 2>"$state/kdc.log")"
log="$state/memcheck.log"
echo "valgrind.sh: memcheck on the native workload (this takes a minute)"
set +e
valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
  --num-callers=40 --track-origins=no --suppressions=scripts/valgrind.supp --log-file="$log" \
  node --expose-gc --jitless scripts/valgrind-workload.mjs
rc=$?
set -e
[ $rc = 0 ] || { echo "valgrind.sh: the workload failed under valgrind (exit $rc)"; tail -40 "$log"; exit 1; }
# Each record starts at a line "==PID== <Kind>" after a blank "==PID==" line; keep those whose
# stack mentions the addon.
ours=$(awk -v name="$name" '
  /^==[0-9]+== $/ { if (rec ~ name && rec ~ /(Invalid|uninitialised|Mismatched|definitely lost|indirectly lost|Syscall param)/) { n++; print rec "\n" } rec=""; next }
  { rec = rec "\n" $0 }
  END { if (rec ~ name && rec ~ /(Invalid|uninitialised|Mismatched|definitely lost|indirectly lost|Syscall param)/) { n++; print rec } }
' "$log")
grep -E "ERROR SUMMARY|definitely lost:|indirectly lost:" "$log" | sed 's/^==[0-9]*== /valgrind.sh: (whole process) /'
if [ -n "$ours" ]; then
  echo "valgrind.sh: FAIL: memcheck findings in the addon:"
  printf '%s\n' "$ours" | head -200 || true
  exit 1
fi
echo "valgrind.sh: OK: no invalid access or leak attributed to the addon ($addon)"
