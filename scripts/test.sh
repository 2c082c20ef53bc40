#!/usr/bin/env bash
# Sets everything up and runs every test; ends by printing "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

results=TestResults
rm -rf "$results"
mkdir -p "$results"
status=0
dotnet test Relay.sln -c Release \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" \
  --blame-hang-timeout 5m 2>&1 | tee "$results/console.log" || status=$?

# The fuzz smoke run: every SharpFuzz harness under AFL++ for a few seconds (scripts/fuzz.sh runs them for longer).
if ! scripts/fuzz.sh --seconds "${RELAY_FUZZ_SECONDS:-15}" 2>&1 | tee "$results/fuzz.log"; then
  echo "The fuzz smoke run failed (see $results/fuzz.log)." >&2
  status=1
fi

trx=$(find "$results" -name '*.trx' | head -n 1)
if [[ -n "$trx" ]]; then
  python3 - "$trx" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<Counters\b[^>]*>', text)
attrs = dict(re.findall(r'(\w+)="(\d+)"', m.group(0))) if m else {}
print(f"{attrs.get('passed', '0')} passed, {int(attrs.get('failed', '0')) + int(attrs.get('error', '0')) + int(attrs.get('timeout', '0')) + int(attrs.get('aborted', '0'))} failed")
PY
else
  # No TRX (its logger failed, or the run never started): report the console summary instead, and say so.
  echo "No TRX file was written; the totals below come from the console summary." >&2
  if python3 - "$results/console.log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
passed = re.findall(r'^\s*Passed:\s*(\d+)\s*$', text, re.M)
failed = re.findall(r'^\s*Failed:\s*(\d+)\s*$', text, re.M)
print(f"{passed[-1] if passed else 0} passed, {failed[-1] if failed else 0} failed")
sys.exit(0 if passed and int(passed[-1]) > 0 else 1)
PY
  then :; else status=1; fi
fi
exit $status
