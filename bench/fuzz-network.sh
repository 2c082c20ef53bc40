#!/usr/bin/env bash
# The network fuzz test at benchmark size: a running relay with a reader playing, and 100 000 hostile RTSP messages
# (RELAY_FUZZ_REQUESTS to change, RELAY_FUZZ_SEED to replay another seed) from eight connections at a time. Passes
# when nothing crashed, no error was logged and the reader's frames kept coming at the camera's rate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
export RELAY_FUZZ_REQUESTS="${RELAY_FUZZ_REQUESTS:-100000}"
dotnet test Relay.Tests -c Release --filter "FullyQualifiedName~NetworkFuzzTests" --logger "console;verbosity=detailed" 2>&1 \
  | grep -E "hostile messages|Passed|Failed|Error|Assert" 
