#!/usr/bin/env bash
# Fuzzes Relay's parsers with SharpFuzz and AFL++ (Debian's afl++), from the seed corpus in Relay.Fuzz/corpus.
#   scripts/fuzz.sh                    every target for 10 minutes each
#   scripts/fuzz.sh --seconds 20       every target for 20 s (the smoke run of scripts/test.sh)
#   scripts/fuzz.sh --seconds 600 rtsp one target
# Targets: rtsp (requests, interleaved framing, Transport/Session/Authorization), rtcp, camera (SDP, caps, SPS, AAC
# config), config (configuration JSON, durations). Findings go to .fuzz/findings/TARGET/default/crashes; the script
# fails if there is any. Replay one with: dotnet .fuzz/bin/Relay.Fuzz.dll TARGET --run FILE
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=600
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
((${#targets[@]})) || targets=(rtsp rtcp camera config)

if ! command -v afl-fuzz >/dev/null; then
  echo "Installing: afl++"
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends afl++ >/dev/null
fi

tools=.tools/sharpfuzz
if [[ ! -x "$tools/sharpfuzz" ]]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$tools" >/dev/null
fi

# A build of its own (Release, own output), then the relay's assembly instrumented in place for AFL's coverage map.
rm -rf .fuzz/bin
dotnet build Relay.Fuzz -c Release -o .fuzz/bin -p:UseAppHost=false -nologo -v quiet >/dev/null
"$tools/sharpfuzz" .fuzz/bin/Relay.Server.dll >/dev/null

export AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
failed=0
for target in "${targets[@]}"; do
  out=.fuzz/findings/$target
  rm -rf "$out"; mkdir -p .fuzz/findings
  echo "fuzzing $target for ${seconds}s"
  afl-fuzz -i "Relay.Fuzz/corpus/$target" -o "$out" -V "$seconds" -t 5000 -m none -- dotnet .fuzz/bin/Relay.Fuzz.dll "$target" >"$out.log" 2>&1 || {
    echo "afl-fuzz failed for $target; see $out.log" >&2; tail -n 20 "$out.log" >&2; failed=1; continue; }
  stats="$out/default/fuzzer_stats"
  execs=$(awk -F': *' '/^execs_done/ {print $2}' "$stats")
  paths=$(awk -F': *' '/^corpus_count/ {print $2}' "$stats")
  crashes=$(find "$out/default/crashes" -type f ! -name README.txt 2>/dev/null | wc -l)
  hangs=$(find "$out/default/hangs" -type f 2>/dev/null | wc -l)
  echo "  $target: $execs executions, $paths inputs in the corpus, $crashes crash(es), $hangs hang(s)"
  if ((crashes > 0)); then
    failed=1
    for crash in "$out"/default/crashes/id*; do
      echo "  finding: $crash" >&2
      dotnet .fuzz/bin/Relay.Fuzz.dll "$target" --run "$crash" 2>&1 | head -n 15 >&2 || true
    done
  fi
done
exit $failed
