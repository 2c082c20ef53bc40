#!/usr/bin/env bash
# Builds the container image from the unchanged Dockerfile and checks it as a user runs it:
#   read-only root filesystem, user 10001, host network; the demo streams over RTSP/TCP and RTSP/UDP with ffprobe;
#   /readyz; the process is not root; `docker stop` ends it in under 5 s with exit code 0; dockerfilelint is clean.
#
#   scripts/docker-test.sh
#
# Needs a Docker daemon (it starts Debian's dockerd when none answers). It works offline from container registries:
# when the standard base images are missing it makes local stand-ins under their names first, debian:bookworm-slim
# with debootstrap (from the Debian mirror) and mcr.microsoft.com/dotnet/sdk:10.0 from the .NET SDK installed here.
# Not part of scripts/test.sh: it needs a daemon and takes several minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runtime_image=debian:bookworm-slim
sdk_image=mcr.microsoft.com/dotnet/sdk:10.0
image=relay:docker-test
container=relay-docker-test-$$
work=$(mktemp -d)
sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"

step() { printf '\n== %s\n' "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  docker rm -f "$container" >/dev/null 2>&1 || true
  docker volume rm -f "$container-data" >/dev/null 2>&1 || true
  $sudo rm -rf "$work"
  if [[ -n "${dockerd_pid:-}" ]]; then kill "$dockerd_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

scripts/install-deps.sh --test >/dev/null
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if ((${#need[@]})); then
  step "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  step "starting dockerd"
  # No bridge and no iptables rules: builds and the container use the host's network (--network host).
  $sudo dockerd --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { cat "$work/dockerd.log"; fail "dockerd did not start"; }
fi
export DOCKER_BUILDKIT=0 # the classic builder needs no BuildKit daemon or registry

if ! docker image inspect "$runtime_image" >/dev/null 2>&1; then
  step "making $runtime_image locally (debootstrap of Debian 12)"
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  $sudo debootstrap --variant=minbase bookworm "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  $sudo rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  # This machine's own extra trust roots (a TLS-inspecting egress proxy signs NuGet's certificate with one): a stand-in
  # for this network carries them, as a site's mirrored base images carry the site's CA. The image's builds add them
  # to the system store when they install ca-certificates.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    $sudo mkdir -p "$work/rootfs/usr/local/share/ca-certificates"
    $sudo cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/"
  fi
  $sudo tar -C "$work/rootfs" -c . | docker import -c 'CMD ["bash"]' - "$runtime_image" >/dev/null
  $sudo rm -rf "$work/rootfs"
fi

if ! docker image inspect "$sdk_image" >/dev/null 2>&1; then
  step "making $sdk_image locally (the .NET SDK installed here, on $runtime_image)"
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  mkdir -p "$work/sdk"
  cp -a "$dotnet_root" "$work/sdk/dotnet"
  cat >"$work/sdk/Dockerfile" <<EOF
FROM $runtime_image
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libssl3 libicu72 libstdc++6 zlib1g && rm -rf /var/lib/apt/lists/*
COPY dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
EOF
  docker build --network host -q -t "$sdk_image" "$work/sdk" >/dev/null
  rm -rf "$work/sdk"
fi

step "dockerfilelint"
"$root/.tools/k8s/node_modules/.bin/dockerfilelint" Dockerfile

step "docker build"
started=$(date +%s)
docker build --network host -t "$image" --build-arg VERSION="$(git describe --always --dirty 2>/dev/null || echo dev)" . >"$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; fail "docker build failed"; }
echo "built in $(( $(date +%s) - started )) s"
docker image inspect "$image" --format 'size {{.Size}} bytes; user {{.Config.User}}; entrypoint {{.Config.Entrypoint}}; exposed {{.Config.ExposedPorts}}; stop signal {{.Config.StopSignal}}'
docker history --format '{{.Size}}\t{{.CreatedBy}}' "$image" | awk -F'\t' '$1 != "0B" {printf "  %8s  %.110s\n", $1, $2}'

step "docker run --read-only --user 10001 --network host"
# Ports picked by the OS, on loopback only (the host network is shared with the machine).
read -r http rtsp rtp rtcp < <(python3 - <<'PY'
import socket
socks = []
for kind in (socket.SOCK_STREAM, socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind); s.bind(("127.0.0.1", 0)); socks.append(s)
print(*[s.getsockname()[1] for s in socks])
PY
)
docker run -d --name "$container" --read-only --user 10001 --network host \
  -v "$container-data:/var/lib/relay" \
  "$image" --config=/opt/relay/demo.json --urls="http://127.0.0.1:$http" \
  --Relay:Rtsp:Address=127.0.0.1 --Relay:Rtsp:Port="$rtsp" --Relay:Rtsp:RtpPort="$rtp" --Relay:Rtsp:RtcpPort="$rtcp" >/dev/null

ready=""
for _ in $(seq 120); do
  if [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http/readyz" || true) == 200 ]]; then ready=yes; break; fi
  [[ $(docker inspect -f '{{.State.Running}}' "$container") == true ]] || break
  sleep 0.5
done
[[ -n $ready ]] || { docker logs "$container" 2>&1 | tail -30; fail "/readyz did not answer 200"; }
echo "/readyz: 200"

pid=$(docker inspect -f '{{.State.Pid}}' "$container")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
echo "process $pid in the container runs as uid $uid"
[[ $uid != 0 ]] || fail "the relay runs as root"

for stream in demo1 demo2; do
  for transport in tcp udp; do
    out=$(timeout 30 ffprobe -v error -rtsp_transport "$transport" -show_entries stream=codec_name,width,height -of csv=p=0 "rtsp://127.0.0.1:$rtsp/$stream") \
      || fail "ffprobe $stream over $transport failed"
    echo "ffprobe $stream over $transport: $(echo "$out" | paste -sd' ')"
    grep -q '^h264,' <<<"$out" || fail "$stream over $transport has no H.264 video"
  done
done

step "a snapshot (decoder, scaler, JPEG encoder) and a camera pulled over RTSP (rtspsrc, depayloaders)"
code=$(curl -s -o "$work/snapshot.jpg" -w '%{http_code}' "http://127.0.0.1:$http/streams/demo1/snapshot.jpg?width=320")
[[ $code == 200 ]] || fail "snapshot: HTTP $code"
picture=$(ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$work/snapshot.jpg")
echo "snapshot: $picture"
[[ $picture == mjpeg,320,* ]] || fail "the snapshot is not a 320-pixel-wide JPEG"
# The relay pulls its own demo stream as a camera: the API (a write from loopback) and the state file on the volume.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d "{\"name\": \"pulled\", \"source\": \"rtsp://127.0.0.1:$rtsp/demo1\"}" "http://127.0.0.1:$http/api/v1/streams")
[[ $code == 201 ]] || fail "POST /api/v1/streams: HTTP $code"
out=$(timeout 30 ffprobe -v error -rtsp_transport tcp -show_entries stream=codec_name -of csv=p=0 "rtsp://127.0.0.1:$rtsp/pulled") \
  || fail "ffprobe of the pulled stream failed"
echo "ffprobe pulled (demo1 through rtspsrc): $(echo "$out" | paste -sd' ')"
[[ $(echo "$out" | paste -sd' ') == "h264 aac" ]] || fail "the pulled stream lost a track"

step "docker stop"
started=$(date +%s%N)
docker stop -t 10 "$container" >/dev/null
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
code=$(docker inspect -f '{{.State.ExitCode}}' "$container")
echo "stopped in ${elapsed_ms} ms, exit code $code"
docker logs "$container" 2>&1 | tail -5
[[ $code == 0 ]] || fail "exit code $code after docker stop"
(( elapsed_ms < 5000 )) || fail "docker stop took ${elapsed_ms} ms"

step "docker-test: every check passed"
