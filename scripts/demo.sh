#!/usr/bin/env bash
# Sets everything up and runs Relay on built-in test-pattern cameras (no camera needed).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
dotnet build Relay.Server/Relay.Server.csproj -c Release -o artifacts/relay --nologo -v quiet

host=$(hostname -I 2>/dev/null | awk '{print $1}')
host=${host:-127.0.0.1}
cat <<MSG

Relay demo: two test-pattern cameras, relayed.
  rtsp://${host}:8554/demo1    1280x720 25 fps H.264 + AAC tone
  rtsp://${host}:8554/demo2    640x360 25 fps H.264 (bouncing ball)
In a browser: http://${host}:8080/   (every camera; click one to watch it over low-latency HLS)
Manage:     http://127.0.0.1:8080/manage   (add, change and delete cameras; switch channels; from this machine)
Play one:   ffplay -rtsp_transport tcp rtsp://127.0.0.1:8554/demo1
       or:  vlc rtsp://${host}:8554/demo1
Status:     curl http://127.0.0.1:8080/healthz
Stop with Ctrl-C.

MSG
exec dotnet artifacts/relay/Relay.Server.dll --config=demo/demo.json "$@"
