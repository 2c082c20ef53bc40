#!/usr/bin/env bash
# What one push costs, side by side in one run: three relays pull the same camera (a fourth relay serving a 1280x720
# test pattern with AAC audio). A only pulls; B also pushes it to an RTMP server (nginx + libnginx-mod-rtmp); C only
# pulls too, and ffmpeg reads C's RTSP output and pushes it to the same RTMP server with -c copy, as people do
# without Relay. Prints the CPU of each over the same window: the push costs B - A inside Relay, against ffmpeg's own
# CPU (plus C - A, what serving ffmpeg's RTSP read costs the relay).
#   bench/push-cost.sh [SECONDS]        RELAY=path/to/Relay.Server (default artifacts/relay-aot/Relay.Server)
#   AUDIO=pcmu bench/push-cost.sh 60    a camera with G.711 (or opus) audio: both pushes transcode it to AAC
#                                       (ffmpeg with -c:a aac), so this measures the transcoding push
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
relay=${RELAY:-artifacts/relay-aot/Relay.Server}
audio=${AUDIO:-aac}
audio_codec=copy
[[ $audio == aac ]] || audio_codec="aac -ar 44100"
[[ -x $relay ]] || { echo "build it first: scripts/publish.sh (or set RELAY)" >&2; exit 1; }
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_relay() { # NAME EXTRA-ARGS...
  local name=$1; shift
  local rtsp; rtsp=$(port)
  "$relay" --Relay:Rtsp:Address=127.0.0.1 --Relay:Rtsp:Port="$rtsp" --Relay:Rtsp:TlsPort=0 --Relay:Rtsp:RtpPort=0 --Relay:Rtsp:RtcpPort=0 \
    --urls "http://127.0.0.1:$(port)" --Relay:StateFile="$dir/$name.json" "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$!; ${name}_rtsp=$rtsp"
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

rtmp=$(port)
cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
daemon off; master_process off; pid $dir/nginx.pid; error_log stderr warn;
events { worker_connections 64; }
rtmp { server { listen 127.0.0.1:$rtmp; application live { live on; record off; } } }
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -e stderr 2>"$dir/nginx.log" &
pids+=($!)

start_relay camera "--Relay:Streams:cam:Source=test:size=1280x720&fps=25&bitrate=2000&gop=50&audio=$audio"
sleep 3
cam="rtsp://127.0.0.1:$camera_rtsp/cam"
start_relay a "--Relay:Streams:cam:Source=$cam"
start_relay b "--Relay:Streams:cam:Source=$cam" "--Relay:Streams:cam:Push:live:Url=rtmp://127.0.0.1:$rtmp/live/b"
start_relay c "--Relay:Streams:cam:Source=$cam"
sleep 5
ffmpeg -hide_banner -loglevel error -rtsp_transport tcp -i "rtsp://127.0.0.1:$c_rtsp/cam" -map 0 -c:v copy -c:a $audio_codec -f flv "rtmp://127.0.0.1:$rtmp/live/f" &
ffmpeg_pid=$!; pids+=($ffmpeg_pid)
sleep 10 # everything connected and past start-up

declare -A before
for p in a b c ffmpeg; do pid_var=${p}_pid; before[$p]=$(ticks "${!pid_var}"); done
sleep "$seconds"
hz=$(getconf CLK_TCK)
for p in a b c ffmpeg; do pid_var=${p}_pid; after=$(ticks "${!pid_var}"); printf '%s %s\n' "$p" "$(( after - before[$p] ))"; done | python3 -c "
import sys
hz, secs = $hz, $seconds
cpu = {k: int(v) / hz / secs * 100 for k, v in (l.split() for l in sys.stdin)}
print(f'CPU over {secs} s (% of one core):')
print(f'  relay A, pull only                  {cpu[\"a\"]:6.2f}')
print(f'  relay B, pull + RTMP push           {cpu[\"b\"]:6.2f}   -> the push costs {cpu[\"b\"] - cpu[\"a\"]:.2f}')
print(f'  relay C, pull + ffmpeg read         {cpu[\"c\"]:6.2f}   -> serving ffmpeg costs {cpu[\"c\"] - cpu[\"a\"]:.2f}')
print(f'  ffmpeg push, audio {\"$audio_codec\":13} {cpu[\"ffmpeg\"]:6.2f}   -> with its RTSP read: {cpu[\"ffmpeg\"] + cpu[\"c\"] - cpu[\"a\"]:.2f}')
"
for name in b; do grep -c "pushing to live\." "$dir/$name.log" >/dev/null || { echo "relay $name never pushed; its log:" >&2; tail "$dir/$name.log" >&2; exit 1; }; done
