#!/usr/bin/env bash
# Resident memory of the relay in its container image, with glibc's default malloc arenas and with MALLOC_ARENA_MAX=2,
# under the same load: the two demo streams and EXTRA small test-pattern streams (each its own GStreamer pipeline and
# threads), then 20 RTSP readers (ffmpeg, TCP) in two waves of 15 s, then idle.
#
#   bench/container-memory.sh [image] [extra streams]   (default relay:docker-test, as scripts/docker-test.sh builds it; 0)
#
# Needs a running Docker daemon and ffmpeg. Prints one line per setting: RSS (kB) at start, under load, after.
set -euo pipefail
image=${1:-relay:docker-test}
extra=${2:-0}
streams=()
for i in $(seq "$extra"); do streams+=(-e "Relay__Streams__small${i}__Source=test:size=160x120&fps=10&gop=10&bitrate=64"); done

free_ports() {
  python3 - <<'PY'
import socket
socks = []
for kind in (socket.SOCK_STREAM, socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])
PY
}

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

measure() {
  local arenas=$1 name=relay-memory-$$ pid start load after
  read -r http rtsp rtp rtcp < <(free_ports)
  docker run -d --rm --name "$name" --read-only --network host -e MALLOC_ARENA_MAX="$arenas" "${streams[@]}" \
    "$image" --config=/opt/relay/demo.json --urls="http://127.0.0.1:$http" \
    --Relay:Rtsp:Address=127.0.0.1 --Relay:Rtsp:Port="$rtsp" --Relay:Rtsp:RtpPort="$rtp" --Relay:Rtsp:RtcpPort="$rtcp" >/dev/null
  for _ in $(seq 120); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/readyz" || true) == 200 ]] && break
    sleep 0.5
  done
  pid=$(docker inspect -f '{{.State.Pid}}' "$name")
  sleep 5 # the demo streams settle: GOP caches full
  start=$(rss "$pid")
  load=0
  for wave in 1 2; do
    for i in $(seq 20); do
      stream=demo$(( i % 2 + 1 ))
      timeout 15 ffmpeg -nostdin -loglevel error -rtsp_transport tcp -i "rtsp://127.0.0.1:$rtsp/$stream" -c copy -f null - &
    done
    for _ in $(seq 14); do sleep 1; r=$(rss "$pid"); (( r > load )) && load=$r; done
    wait
  done
  sleep 5
  after=$(rss "$pid")
  docker stop "$name" >/dev/null
  printf '%2d streams, MALLOC_ARENA_MAX=%-3s RSS start %6d kB, peak under 20 readers %6d kB, after they left %6d kB\n' "$((extra + 2))" "$arenas" "$start" "$load" "$after"
}

measure 16 # glibc's default on this machine: 8 per core
measure 2
