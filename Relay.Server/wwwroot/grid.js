// The stream grid: one tile per stream with a live picture and what the status API says of it.
// Browsers open at most six HTTP/1.1 connections to one host and an MJPEG picture holds one for as long as it
// plays, so the first few tiles are MJPEG and the rest refresh a snapshot; the status API and the player page
// always have a connection left.
"use strict";

const TILE_WIDTH = 320;
const MJPEG_TILES = 4;
const MJPEG_FPS = 2;
const SNAPSHOT_EVERY_MS = 2000;
const STATUS_EVERY_MS = 2000;

const grid = document.getElementById("grid");
const tiles = new Map();

function path(name) {
  return name.split("/").map(encodeURIComponent).join("/");
}

function describe(stream) {
  const video = stream.tracks.find(t => t.kind === "Video");
  const parts = [];
  if (video) {
    parts.push(video.codec.toUpperCase());
    if (video.width && video.height) parts.push(`${video.width}×${video.height}`);
    if (video.frameRate) parts.push(`${video.frameRate.toFixed(video.frameRate % 1 ? 2 : 0)} fps`);
  }
  const bitrate = stream.tracks.reduce((sum, t) => sum + (t.bitrateBitsPerSecond || 0), 0);
  if (bitrate > 0) parts.push(`${(bitrate / 1e6).toFixed(2)} Mbit/s`);
  const audio = stream.tracks.find(t => t.kind === "Audio");
  if (audio) parts.push(audio.codec.toUpperCase());
  return parts.join(" · ") || "no media yet";
}

function createTile(stream, live) {
  const tile = document.createElement("article");
  tile.className = "tile";
  tile.dataset.stream = stream.name;
  const link = document.createElement("a");
  link.className = "picture";
  link.href = `/watch/${path(stream.name)}`;
  const img = document.createElement("img");
  img.alt = stream.name;
  img.dataset.mode = live ? "mjpeg" : "snapshot";
  img.src = live
    ? `/streams/${path(stream.name)}/mjpeg?width=${TILE_WIDTH}&fps=${MJPEG_FPS}`
    : `/streams/${path(stream.name)}/snapshot.jpg?width=${TILE_WIDTH}&t=${Date.now()}`;
  const off = document.createElement("div");
  off.className = "off";
  off.hidden = true;
  link.append(img, off);
  img.addEventListener("error", () => {
    off.textContent = "no picture";
    off.hidden = false;
    if (img.dataset.mode === "mjpeg") setTimeout(() => { img.src = img.src.replace(/&retry=\d+$/, "") + `&retry=${Date.now()}`; }, 3000);
  });
  img.addEventListener("load", () => { off.hidden = true; });

  const facts = document.createElement("div");
  facts.className = "facts";
  facts.innerHTML = `<div class="name"><a></a><span class="state"></span></div><div class="dim media"></div><div class="dim readers"></div>`;
  facts.querySelector(".name a").textContent = stream.name;
  facts.querySelector(".name a").href = link.href;
  tile.append(link, facts);
  return tile;
}

function update(tile, stream) {
  const state = tile.querySelector(".state");
  state.textContent = stream.state;
  state.className = `state ${stream.state.toLowerCase()}`;
  tile.querySelector(".media").textContent = describe(stream);
  const readers = stream.readers.length;
  tile.querySelector(".readers").textContent = `${readers} reader${readers === 1 ? "" : "s"}`;
}

async function refresh() {
  let streams;
  try {
    const response = await fetch("/api/v1/streams", { cache: "no-store" });
    if (!response.ok) throw new Error(`status API answered ${response.status}`);
    streams = await response.json();
    document.getElementById("error").hidden = true;
  } catch (e) {
    const error = document.getElementById("error");
    error.textContent = `Cannot reach the relay: ${e.message}`;
    error.hidden = false;
    return;
  }

  // Streams another node's relay pulls (their Node setting) have no picture here; the summary counts them.
  const elsewhere = streams.filter(s => s.state === "Elsewhere").length;
  streams = streams.filter(s => s.state !== "Elsewhere");
  const seen = new Set();
  streams.forEach((stream, i) => {
    seen.add(stream.name);
    let tile = tiles.get(stream.name);
    if (!tile) {
      tile = createTile(stream, i < MJPEG_TILES);
      tiles.set(stream.name, tile);
    }
    grid.append(tile); // keeps the API's order
    update(tile, stream);
  });
  for (const [name, tile] of tiles) {
    if (!seen.has(name)) {
      tile.querySelector("img").src = "";
      tile.remove();
      tiles.delete(name);
    }
  }
  const online = streams.filter(s => s.online).length;
  document.getElementById("summary").textContent = `${streams.length} stream${streams.length === 1 ? "" : "s"}, ${online} online`
    + (elsewhere > 0 ? `, ${elsewhere} on other nodes` : "");
  document.getElementById("empty").hidden = streams.length > 0;
}

function refreshSnapshots() {
  for (const img of grid.querySelectorAll('img[data-mode="snapshot"]')) {
    img.src = img.src.replace(/t=\d+/, `t=${Date.now()}`);
  }
}

refresh();
setInterval(refresh, STATUS_EVERY_MS);
setInterval(refreshSnapshots, SNAPSHOT_EVERY_MS);
