#!/usr/bin/env bash
# Builds the production binary: Native AOT (about half the memory of the JIT build), into artifacts/relay-aot.
#   scripts/publish.sh [output-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-artifacts/relay-aot}

scripts/install-deps.sh
# Native AOT links with clang (or gcc) against zlib.
missing=()
command -v clang >/dev/null || command -v gcc >/dev/null || missing+=(clang)
dpkg-query -W -f='${Status}' zlib1g-dev 2>/dev/null | grep -q "install ok installed" || missing+=(zlib1g-dev)
if ((${#missing[@]})); then
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

dotnet publish Relay.Server/Relay.Server.csproj -c Release -r linux-x64 -p:PublishAot=true -o "$out" --nologo -v quiet
cp demo/demo.json "$out/"
echo "$out/Relay.Server"
