#!/usr/bin/env bash
# Sets everything up and runs every test; ends by printing "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

results=TestResults
rm -rf "$results"
status=0
dotnet test Relay.sln -c Release \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" \
  --blame-hang-timeout 5m || status=$?

trx=$(find "$results" -name '*.trx' | head -n 1)
if [[ -z "$trx" ]]; then
  echo "0 passed, 0 failed"
  echo "No test results were written (build failure?)." >&2
  exit 1
fi
python3 - "$trx" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<Counters\b[^>]*>', text)
attrs = dict(re.findall(r'(\w+)="(\d+)"', m.group(0))) if m else {}
print(f"{attrs.get('passed', '0')} passed, {int(attrs.get('failed', '0')) + int(attrs.get('error', '0')) + int(attrs.get('timeout', '0')) + int(attrs.get('aborted', '0'))} failed")
PY
exit $status
