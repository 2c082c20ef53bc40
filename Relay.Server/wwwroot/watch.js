// The player page (/watch/{stream}) and the channel viewer (/view/{channel}, full screen, for wall screens): one
// stream or channel over low-latency HLS with hls.js (served by Relay), or the browser's own HLS player (Safari, or
// ?player=native). It recovers by itself from errors and camera outages, and shows the latency.
// window.relayPlayer exposes what it measures (first frame time, errors, recoveries) for tests and debugging.
"use strict";

const isChannelView = location.pathname.startsWith("/view/");
const name = location.pathname.replace(/^\/(watch|view)\//, "").split("/").map(decodeURIComponent).join("/");
const path = name.split("/").map(encodeURIComponent).join("/");
const base = `/streams/${path}`;
const url = `${base}/index.m3u8`;
const video = document.getElementById("video");
const options = new URLSearchParams(location.search);
const wantNative = options.get("player") === "native";
const player = window.relayPlayer = { engine: null, hls: null, firstFrameMs: null, errors: [], recoveries: 0, timeline: [] };

// What happened when, in ms since navigation (the first events only): for diagnosing a slow start.
function note(what) {
  if (player.timeline.length < 60) {
    player.timeline.push(`${what}@${performance.now().toFixed(0)}`);
  }
}

for (const event of ["loadedmetadata", "seeking", "waiting", "canplay", "playing"]) {
  video.addEventListener(event, () => note(`${event}:${video.currentTime.toFixed(2)}`));
}

document.title = `Relay · ${name}`;
document.getElementById("name").textContent = name;
for (const [id, href] of [["hls", url], ["snapshot", `${base}/snapshot.jpg`], ["mjpeg", `${base}/mjpeg?width=640&fps=5`]]) {
  const link = document.getElementById(id);
  if (!link) continue;
  link.href = href;
  link.textContent = new URL(href, location.href).href;
}

function showError(text) {
  const error = document.getElementById("error");
  error.textContent = text;
  error.hidden = !text;
}

function watchFirstFrame() {
  if ("requestVideoFrameCallback" in HTMLVideoElement.prototype) {
    video.requestVideoFrameCallback(now => { player.firstFrameMs ??= now; });
  } else {
    video.addEventListener("loadeddata", () => { player.firstFrameMs ??= performance.now(); }, { once: true });
  }
}

function startHlsJs() {
  const hls = new Hls({
    lowLatencyMode: true,
    enableWorker: false, // starting a worker cost ~0.3 s before the first picture; fMP4 needs little remuxing
    backBufferLength: 30,
    maxLiveSyncPlaybackRate: 1.5,
    liveDurationInfinity: true, // a live MediaSource (infinite duration) lets Chromium start playing with little buffered
    liveSyncOnStallIncrease: 0.1, // the default adds 1 s of latency for good after every stall, startup included
    startFragPrefetch: true, // fetch the first fragment while the media source opens
    debug: options.has("debug"),
  });
  player.hls = hls;
  player.engine = `hls.js ${Hls.version}, low latency`;
  hls.on(Hls.Events.ERROR, (_, data) => {
    player.errors.push({ type: data.type, details: data.details, fatal: data.fatal, at: performance.now() });
    if (!data.fatal) {
      return;
    }

    player.recoveries++;
    showError(`Playback error (${data.details}); recovering…`);
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      hls.recoverMediaError();
    } else {
      hls.destroy();
      setTimeout(startHlsJs, 2000);
    }
  });
  hls.on(Hls.Events.FRAG_BUFFERED, (_, data) => {
    showError("");
    note(`buffered:${data.frag.sn}${data.part ? `.${data.part.index}` : ""}`);
  });
  hls.on(Hls.Events.LEVEL_LOADED, () => note("playlist"));
  // The media playlist directly (one request less than index.m3u8), asking to start at once: hls.js needs no
  // hold-back history, it plays from the newest parts.
  hls.loadSource(`${base}/stream.m3u8?start=now`);
  hls.attachMedia(video);
}

function startNative() {
  player.engine = "browser's own HLS player";
  video.src = url;
  // Ask to play now rather than through autoplay: Chromium's HLS engine counts the wait before autoplay as a pause
  // and, on a young live playlist, gives up when "resuming" finds no newer segment.
  video.play().catch(() => {});
  video.addEventListener("error", () => {
    player.errors.push({ type: "mediaError", details: video.error?.message, fatal: true, at: performance.now() });
    player.recoveries++;
    setTimeout(() => { video.src = url; video.play().catch(() => {}); }, 2000);
  });
  let lastTime = -1;
  let stalledSince = performance.now();
  // A native player that gives up (for example after a long outage) is started again.
  setInterval(() => {
    if (video.currentTime !== lastTime || video.paused) {
      lastTime = video.currentTime;
      stalledSince = performance.now();
    } else if (performance.now() - stalledSince > 10000) {
      player.recoveries++;
      stalledSince = performance.now();
      video.src = url;
      video.play().catch(() => {});
    }
  }, 1000);
}

function showLatency() {
  const cell = document.getElementById("latency");
  if (!cell) return;
  const hls = player.hls;
  if (hls && Number.isFinite(hls.latency) && hls.latency > 0) {
    cell.textContent = `${hls.latency.toFixed(2)} s behind the camera's live edge (target ${hls.targetLatency?.toFixed(2) ?? "?"} s)`;
  } else if (video.buffered.length > 0) {
    cell.textContent = `${(video.buffered.end(video.buffered.length - 1) - video.currentTime).toFixed(2)} s buffered`;
  }
}

async function showStatus() {
  try {
    const response = await fetch(`/api/v1/${isChannelView ? "channels" : "streams"}/${path}`, { cache: "no-store" });
    if (!response.ok) {
      document.getElementById("state").textContent = response.status === 404 ? `no such ${isChannelView ? "channel" : "stream"}` : `status ${response.status}`;
      return;
    }

    const stream = await response.json();
    const state = document.getElementById("state");
    const text = isChannelView ? (stream.online ? "online" : "waiting") : stream.state;
    state.textContent = text;
    state.className = `state ${text.toLowerCase()}`;
    if (isChannelView) {
      document.getElementById("name").textContent = `${name} · ${stream.stream}`;
    }
    const video = stream.tracks.find(t => t.kind === "Video");
    document.getElementById("media").textContent = video && video.width
      ? `${video.codec.toUpperCase()} ${video.width}×${video.height}${video.frameRate ? ` @ ${video.frameRate.toFixed(0)} fps` : ""}`
      : "";
  } catch {
    // The relay is unreachable for a moment; the player shows its own errors.
  }
}

async function showRtspUrl() {
  if (!document.getElementById("rtsp")) return;
  try {
    const server = await (await fetch("/api/v1/server", { cache: "no-store" })).json();
    const host = location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname;
    document.getElementById("rtsp").textContent = `rtsp://${host}:${server.rtspPort}/${name}`;
  } catch {
    document.getElementById("rtsp").textContent = "unknown";
  }
}

document.getElementById("copy")?.addEventListener("click", () => {
  navigator.clipboard?.writeText(document.getElementById("rtsp").textContent);
});

watchFirstFrame();
if (!wantNative && window.Hls && Hls.isSupported()) {
  startHlsJs();
} else if (video.canPlayType("application/vnd.apple.mpegurl")) {
  startNative();
} else {
  showError("This browser plays neither HLS nor Media Source Extensions; use the MJPEG link below.");
}

if (document.getElementById("engine")) document.getElementById("engine").textContent = player.engine ?? "none";
if (isChannelView) {
  const fullScreen = () => document.documentElement.requestFullscreen?.().catch(() => {});
  video.addEventListener("dblclick", fullScreen);
  document.addEventListener("keydown", e => { if (e.key === "f" || e.key === "F") fullScreen(); });
}
showRtspUrl();
showStatus();
setInterval(showStatus, 2000);
setInterval(showLatency, 500);
