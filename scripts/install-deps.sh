#!/usr/bin/env bash
# Installs the Debian 12 packages Relay needs, only those missing.
#   scripts/install-deps.sh          runtime: GStreamer and the plugins Relay uses
#   scripts/install-deps.sh --test   also what the tests use as real peers (fake camera, ffmpeg, gst-launch, Prometheus,
#                                    and Chromium, which Playwright drives for the web page tests: no browser download)
set -euo pipefail

packages=(
  libgstreamer1.0-0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp glib-networking
)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(gstreamer1.0-tools libgstrtspserver-1.0-0 ffmpeg python3 prometheus iproute2 chromium nginx-light libnginx-mod-rtmp libnginx-mod-stream)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "Run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  # Packages with a service (nginx, the tests' RTMP server) must not start it: the tests start their own on loopback.
  policy=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy"
    trap '$sudo rm -f "$policy"' EXIT
  fi
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ "${1:-}" == "--test" ]]; then
  # The OpenAPI document is checked by a validator that is not ours: npm's @apidevtools/swagger-parser, pinned,
  # installed beside the repository (.tools/, ignored by git) with the machine's Node.js (Debian's if there is none).
  if ! command -v npm >/dev/null; then
    echo "Installing: nodejs npm"
    ${sudo:-} apt-get update -qq && ${sudo:-} apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  tools="$(cd "$(dirname "$0")/.." && pwd)/.tools/openapi"
  if [[ ! -f "$tools/node_modules/@apidevtools/swagger-parser/package.json" ]]; then
    mkdir -p "$tools"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error @apidevtools/swagger-parser@10.1.1 >/dev/null
  fi
  # The Kubernetes manifests (k8s/) are checked offline against the API schemas of kubernetes-models (and
  # @kubernetes-models/prometheus-operator for the PodMonitor) by Relay.Tests/Deploy/validate-k8s.mjs; the Dockerfile
  # is linted with dockerfilelint. Pinned, in .tools/k8s.
  tools="$(cd "$(dirname "$0")/.." && pwd)/.tools/k8s"
  k8s_packages=(kubernetes-models@5.1.0 @kubernetes-models/prometheus-operator@6.0.0 yaml@2.9.1 dockerfilelint@1.8.0)
  for p in "${k8s_packages[@]}"; do
    if [[ ! -f "$tools/node_modules/${p%@*}/package.json" ]]; then
      mkdir -p "$tools"
      npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "${k8s_packages[@]}" >/dev/null
      break
    fi
  done
  # kubectl renders k8s/ (kubectl kustomize). Debian 12's kubernetes-client (1.20) is too old for the kustomize
  # features used; Kubernetes' own packages are not reachable here, so it must come with the machine.
  command -v kubectl >/dev/null || echo "warning: kubectl (1.27 or later) is not installed; the deployment tests will fail" >&2
fi

if ! command -v dotnet >/dev/null; then
  echo "The .NET 10 SDK is required (dotnet not found on PATH)." >&2
  exit 1
fi
