# Relay: a Native AOT binary on Debian 12 with the GStreamer runtime it drives.
#
#   docker build -t relay .
#   docker run --network host --read-only -v relay-data:/var/lib/relay relay --config=/opt/relay/demo.json
#
# Both base images can be replaced (a mirror, a tag pinned with a digest: --build-arg RUNTIME_TAG=bookworm-slim@sha256:…):
#   SDK_IMAGE:SDK_TAG          provides the .NET 10 SDK (only /usr/share/dotnet is taken from it)
#   RUNTIME_IMAGE:RUNTIME_TAG  a Debian 12 (bookworm) image: the binary is linked against its glibc
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk
ARG SDK_TAG=10.0
ARG RUNTIME_IMAGE=debian
ARG RUNTIME_TAG=bookworm-slim

FROM ${SDK_IMAGE}:${SDK_TAG} AS sdk

# The binary is linked here, on the runtime's Debian release, so it needs no newer glibc than the runtime has (the
# SDK image may be built on a newer distribution). Native AOT links with clang against zlib.
FROM ${RUNTIME_IMAGE}:${RUNTIME_TAG} AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends clang lld zlib1g-dev ca-certificates libssl3 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=sdk /usr/share/dotnet /usr/share/dotnet
ENV PATH=/usr/share/dotnet:$PATH \
    DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1 \
    DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1
WORKDIR /src
# Restore first, from the project files alone, so a source change does not download the packages again.
COPY Directory.Build.props Directory.Packages.props ./
COPY Relay.Abstractions/Relay.Abstractions.csproj Relay.Abstractions/
COPY Relay.Server/Relay.Server.csproj Relay.Server/
RUN dotnet restore Relay.Server/Relay.Server.csproj -r linux-x64 -p:PublishAot=true
COPY Relay.Abstractions/ Relay.Abstractions/
COPY Relay.Server/ Relay.Server/
RUN dotnet publish Relay.Server/Relay.Server.csproj -c Release -r linux-x64 -p:PublishAot=true --no-restore -o /out \
    && rm -f /out/*.dbg
COPY demo/demo.json /out/demo.json

# The GStreamer runtime, installed from Debian's packages, then cut down to what Relay uses (see
# scripts/gstreamer-subset.sh): the packages pull in GTK, SDL, Mesa and LLVM for plugins Relay never creates.
#   plugins-base  appsrc/appsink, videotestsrc, audiotestsrc, videoconvert/videoscale, videorate, opusenc
#   plugins-good  rtspsrc, the RTP depayloaders, jpegenc, mulawenc/alawenc, aacparse
#   plugins-bad   h264parse/h265parse, x265enc and voaacenc (test patterns)
#   plugins-ugly  x264enc (test patterns)
#   libav         avdec_h264/avdec_h265 (snapshots, MJPEG)
#   glib-networking  TLS for rtsps:// cameras; libssl3: OpenSSL, which .NET loads for its cryptography
FROM ${RUNTIME_IMAGE}:${RUNTIME_TAG} AS gstreamer
RUN dpkg-query -W -f='${Package}\n' > /tmp/base-packages \
    && apt-get update \
    && apt-get install -y --no-install-recommends \
        gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
        gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp gstreamer1.0-tools glib-networking libssl3 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY scripts/gstreamer-subset.sh /usr/local/bin/
RUN gstreamer-subset.sh /subset /tmp/base-packages

FROM ${RUNTIME_IMAGE}:${RUNTIME_TAG}
COPY --from=gstreamer /subset/ /
RUN groupadd --system --gid 10001 relay \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/relay --no-create-home --shell /usr/sbin/nologin relay \
    && mkdir -p /var/lib/relay \
    && chown 10001:10001 /var/lib/relay \
    && ldconfig
COPY --from=build /out/Relay.Server /out/appsettings.json /out/demo.json /opt/relay/

# Everything Relay writes goes under /var/lib/relay (mount a volume there), so the root filesystem can be read-only:
# the state file of API changes, GStreamer's plugin registry cache (without it every start rescans the plugins), and
# temporary files (TMPDIR).
# No MALLOC_ARENA_MAX or DOTNET_* tuning: limiting glibc's arenas changed nothing measurable (bench/container-memory.sh;
# Relay trims freed native memory itself after each camera connection), and the GC settings are in the binary.
ENV Relay__StateFile=/var/lib/relay/relay-state.json \
    GST_REGISTRY=/var/lib/relay/gstreamer-registry.bin \
    HOME=/var/lib/relay \
    TMPDIR=/var/lib/relay \
    ASPNETCORE_URLS=http://0.0.0.0:8080

ARG VERSION=dev
ARG REVISION=unknown
ARG RUNTIME_IMAGE
ARG RUNTIME_TAG
LABEL org.opencontainers.image.title="Relay" \
      org.opencontainers.image.description="RTSP relay for edge nodes: pulls each camera once and serves it over RTSP (TCP/UDP), LL-HLS, MJPEG and snapshots" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}:${RUNTIME_TAG}"

USER 10001:10001
WORKDIR /var/lib/relay
VOLUME /var/lib/relay
# RTSP, RTP and RTCP (UDP readers), HTTP (pages, HLS, MJPEG, API, /metrics, /healthz, /readyz).
EXPOSE 8554/tcp 8000/udp 8001/udp 8080/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/relay/Relay.Server"]
