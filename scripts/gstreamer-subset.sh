#!/usr/bin/env bash
# Copies the part of an installed GStreamer that Relay uses into DEST, as a tree to lay over a fresh Debian image:
# the plugins that hold the elements below, GStreamer's own libraries and plugin scanner, GLib's TLS module (for
# rtsps:// cameras), OpenSSL (which .NET loads at run time), the CA bundle, and every shared library these need that the base image does not already have.
# Run by the Dockerfile in a stage that installed the GStreamer packages (and gstreamer1.0-tools, for gst-inspect).
#
#   gstreamer-subset.sh DEST BASE_PACKAGES_FILE
#
# The Debian packages pull in far more than Relay loads (GTK, SDL, Mesa/LLVM for plugins Relay never creates); the
# image keeps only what is reachable from these elements. Add an element here when Relay starts to create a new one.
set -euo pipefail
dest=$1
base_packages=$2

elements=(
  # ingest: rtspsrc and what it creates inside (RTP session, jitter buffer, UDP), the depayloaders, parsers, appsink
  rtspsrc rtpbin rtpjitterbuffer rtpptdemux rtpssrcdemux udpsrc udpsink
  rtph264depay rtph265depay rtpmp4adepay rtpmp4gdepay rtpopusdepay rtppcmudepay rtppcmadepay
  h264parse h265parse aacparse appsink appsrc capsfilter queue fakesink identity typefind
  # test patterns
  videotestsrc audiotestsrc audioconvert audioresample x264enc x265enc voaacenc opusenc mulawenc alawenc
  # snapshots and MJPEG
  avdec_h264 avdec_h265 videoconvert videoscale videorate jpegenc
  # restreaming: the audio an RTMP(S) push transcodes to AAC (G.711, Opus; RTMP itself is Relay's own), RTSP
  # RECORD push and the payloaders it picks
  mulawdec alawdec opusdec avenc_aac rtspclientsink rtph264pay rtph265pay rtpmp4gpay rtppcmupay rtppcmapay
)

plugins=()
for element in "${elements[@]}"; do
  file=$(gst-inspect-1.0 "$element" | awk '$1 == "Filename" {print $2}')
  [[ -n $file ]] || { echo "gstreamer-subset: element $element is not installed" >&2; exit 1; }
  plugins+=("$file")
done
mapfile -t plugins < <(printf '%s\n' "${plugins[@]}" | sort -u)

# The multiarch directory (x86_64-linux-gnu): where GStreamer's core plugin lives is /usr/lib/ARCH/gstreamer-1.0/.
arch=$(basename "$(dirname "$(dirname "$(readlink -f "$(gst-inspect-1.0 coreelements | awk '$1 == "Filename" {print $2}')")")")")
files=(
  "${plugins[@]}"
  "/usr/lib/$arch/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner"
  "/usr/lib/$arch/libgstreamer-1.0.so.0" "/usr/lib/$arch/libgstbase-1.0.so.0" "/usr/lib/$arch/libgstapp-1.0.so.0"
  "/usr/lib/$arch/libgstvideo-1.0.so.0" "/usr/lib/$arch/libgstaudio-1.0.so.0" "/usr/lib/$arch/libgstrtsp-1.0.so.0"
  "/usr/lib/$arch/libgstsdp-1.0.so.0" "/usr/lib/$arch/libgstrtp-1.0.so.0" "/usr/lib/$arch/libgstpbutils-1.0.so.0"
  "/usr/lib/$arch/libgstnet-1.0.so.0" "/usr/lib/$arch/libgobject-2.0.so.0" "/usr/lib/$arch/libglib-2.0.so.0"
  "/usr/lib/$arch/gio/modules/libgiognutls.so"
  # .NET loads OpenSSL itself (random numbers, the ETag HMAC): not a link-time dependency ldd could find
  "/usr/lib/$arch/libssl.so.3" "/usr/lib/$arch/libcrypto.so.3"
)

# Whether a file belongs to a package the base image already has (dpkg knows merged-/usr files by either path).
in_base() {
  local owner
  owner=$(dpkg -S "$1" 2>/dev/null || dpkg -S "${1#/usr}" 2>/dev/null || true)
  owner=${owner%%:*}
  [[ -n $owner ]] && grep -qx "$owner" "$base_packages"
}

# Copies a file under its real directory (not through the /lib -> usr/lib link) and its own name (a soname link
# is copied as the file it points to).
copy() {
  local dir target
  dir=$(readlink -f "$(dirname "$1")")
  target="$dest$dir/$(basename "$1")"
  [[ -e $target ]] && return
  mkdir -p "$dest$dir"
  cp -L "$1" "$target"
}

declare -A libraries=()
for file in "${files[@]}"; do
  [[ -e $file ]] || { echo "gstreamer-subset: $file is missing" >&2; exit 1; }
  copy "$file"
  while read -r library; do
    libraries[$library]=1
  done < <(ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// {print $3}')
done

copied=0
for library in "${!libraries[@]}"; do
  if ! in_base "$(readlink -f "$library")" && ! in_base "$library"; then
    copy "$library"
    copied=$((copied + 1))
  fi
done

mkdir -p "$dest/etc/ssl/certs"
cp -L /etc/ssl/certs/ca-certificates.crt "$dest/etc/ssl/certs/"
echo "gstreamer-subset: ${#plugins[@]} plugins, $copied libraries, $(du -sh "$dest" | cut -f1) in all"
