// The manager page: the streams table with add / edit / delete through the API (its validation problems shown
// beside the fields), and the channel wall: a live tile per channel with a selector that switches its camera.
"use strict";

const STATUS_EVERY_MS = 2000;
const SNAPSHOT_EVERY_MS = 1000;
const TILE_WIDTH = 320;
const SETTINGS = ["source", "transport", "startAt", "onDemand", "idleTimeout", "connectTimeout", "stallTimeout", "latency", "retryDelay", "maxRetryDelay", "node"];

const form = document.getElementById("stream-form");
const channelForm = document.getElementById("channel-form");
let streams = [];
let channels = [];
let editing = null; // { name, etag, settings } while a stream is edited

function path(name) {
  return name.split("/").map(encodeURIComponent).join("/");
}

function showError(text) {
  const error = document.getElementById("error");
  error.textContent = text;
  error.hidden = !text;
}

// Shows an API problem (RFC 9457) beside the fields it names, or above the form.
function showProblem(target, problem) {
  for (const slot of target.querySelectorAll("[data-problem]")) {
    slot.textContent = "";
    if (slot.dataset.problem === "form") slot.hidden = true;
  }
  if (!problem) return;
  const errors = problem.errors || {};
  let placed = false;
  for (const [field, messages] of Object.entries(errors)) {
    const slot = target.querySelector(`[data-problem="${CSS.escape(field)}"]`) || target.querySelector('[data-problem="other"]');
    if (slot) {
      slot.textContent = (slot.dataset.problem === "other" ? `${field}: ` : "") + messages.join("; ");
      placed = true;
    }
  }
  if (!placed) {
    const slot = target.querySelector('[data-problem="form"]');
    slot.textContent = problem.detail || problem.title || "The relay refused the change.";
    slot.hidden = false;
  }
}

async function send(method, url, body, etag) {
  const headers = { "Content-Type": "application/json" };
  if (etag) headers["If-Match"] = etag;
  const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.ok) return { ok: true, etag: response.headers.get("ETag") };
  let problem;
  try {
    problem = await response.json();
  } catch {
    problem = { title: `The relay answered ${response.status}.` };
  }
  return { ok: false, problem };
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// One line per push target: its name and state, the redacted destination and the last error on hover.
function pushCell(targets) {
  const td = document.createElement("td");
  td.className = "push";
  for (const target of targets) {
    const line = document.createElement("div");
    line.dataset.target = target.name;
    line.textContent = `${target.name}: ${target.state}`;
    line.title = [target.url, target.lastError].filter(Boolean).join("\n");
    const tone = { pushing: "online", waiting: "idle", disabled: "idle", connecting: "connecting", retrying: "backoff" }[target.state] ?? "faulted";
    line.className = `state ${tone}`;
    td.append(line);
  }
  return td;
}

function renderStreams() {
  const body = document.querySelector("#streams tbody");
  body.replaceChildren();
  for (const stream of streams) {
    const row = document.createElement("tr");
    row.dataset.stream = stream.name;
    const state = document.createElement("span");
    state.className = `state ${stream.state.toLowerCase()}`;
    state.textContent = stream.state === "Elsewhere" ? `on ${stream.nodes.join(", ")}` : stream.state;
    const stateCell = document.createElement("td");
    stateCell.append(state);
    const actions = document.createElement("td");
    const edit = document.createElement("button");
    edit.type = "button";
    edit.textContent = "edit";
    edit.addEventListener("click", () => startEdit(stream.name));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "delete";
    remove.addEventListener("click", () => removeStream(stream.name));
    actions.append(edit, " ", remove);
    row.append(cell(stream.name, "name"), stateCell, cell(stream.source, "dim"), cell(stream.lastError?.message ?? "", "error"),
      cell(String(stream.readers.length)), pushCell(stream.push ?? []), cell(stream.origin, "dim"), actions);
    body.append(row);
  }
}

function renderStreamChoices(select, current) {
  const names = streams.map(s => s.name);
  if (select.dataset.names === names.join("\n") && (!current || select.value === current)) return;
  select.replaceChildren(...names.map(n => new Option(n, n)));
  select.dataset.names = names.join("\n");
  if (current) select.value = current;
}

function renderWall() {
  const wall = document.getElementById("wall");
  const seen = new Set();
  for (const channel of channels) {
    seen.add(channel.name);
    let tile = wall.querySelector(`[data-channel="${CSS.escape(channel.name)}"]`);
    if (!tile) {
      tile = document.createElement("article");
      tile.className = "tile";
      tile.dataset.channel = channel.name;
      tile.innerHTML = `<a class="picture" target="_blank"><img alt=""><div class="off" hidden>no picture</div></a>
        <div class="facts"><div class="name"><span class="label"></span><span class="state"></span></div>
        <label class="dim">camera <select></select></label><span class="problem"></span>
        <div><a class="view" target="_blank">open viewer</a> · <button type="button" class="delete">delete</button></div></div>`;
      const img = tile.querySelector("img");
      img.alt = channel.name;
      img.addEventListener("error", () => { tile.querySelector(".off").hidden = false; });
      img.addEventListener("load", () => { tile.querySelector(".off").hidden = true; });
      tile.querySelector(".picture").href = `/view/${path(channel.name)}`;
      tile.querySelector(".view").href = `/view/${path(channel.name)}`;
      tile.querySelector(".label").textContent = channel.name;
      tile.querySelector("select").addEventListener("change", e => switchChannel(channel.name, e.target.value, tile));
      tile.querySelector(".delete").addEventListener("click", () => removeChannel(channel.name));
      wall.append(tile);
      refreshTile(tile);
    }
    const select = tile.querySelector("select");
    if (document.activeElement !== select) renderStreamChoices(select, channel.stream);
    const state = tile.querySelector(".state");
    state.textContent = channel.online ? "online" : channel.streamExists ? "waiting" : "no such stream";
    state.className = `state ${channel.online ? "online" : "idle"}`;
  }
  for (const tile of wall.querySelectorAll("[data-channel]")) {
    if (!seen.has(tile.dataset.channel)) tile.remove();
  }
}

function refreshTile(tile) {
  tile.querySelector("img").src = `/streams/${path(tile.dataset.channel)}/snapshot.jpg?width=${TILE_WIDTH}&t=${Date.now()}`;
}

async function refresh() {
  try {
    const [s, c] = await Promise.all([fetch("/api/v1/streams", { cache: "no-store" }), fetch("/api/v1/channels", { cache: "no-store" })]);
    if (!s.ok || !c.ok) throw new Error(`the API answered ${s.ok ? c.status : s.status}`);
    streams = await s.json();
    channels = await c.json();
    showError("");
  } catch (e) {
    showError(`Cannot reach the relay: ${e.message}`);
    return;
  }
  renderStreams();
  renderWall();
  renderStreamChoices(channelForm.elements.stream, channelForm.elements.stream.value || null);
  const online = streams.filter(s => s.online).length;
  document.getElementById("summary").textContent = `${streams.length} stream${streams.length === 1 ? "" : "s"}, ${online} online, ${channels.length} channel${channels.length === 1 ? "" : "s"}`;
}

async function startEdit(name) {
  const response = await fetch(`/api/v1/streams/${path(name)}`, { cache: "no-store" });
  if (!response.ok) return showError(`Cannot read ${name}: ${response.status}`);
  const stream = await response.json();
  editing = { name, etag: response.headers.get("ETag"), settings: stream.settings };
  form.elements.name.value = name;
  form.elements.name.disabled = true;
  for (const key of SETTINGS) {
    const input = form.elements[key];
    if (input.type === "checkbox") input.checked = stream.settings[key] === "true";
    else input.value = stream.settings[key] ?? "";
  }
  document.getElementById("form-title").textContent = `Edit ${name}`;
  document.getElementById("save").textContent = "Save";
  document.getElementById("cancel").hidden = false;
  showProblem(form, null);
}

function stopEdit() {
  editing = null;
  form.reset();
  form.elements.name.disabled = false;
  document.getElementById("form-title").textContent = "Add a stream";
  document.getElementById("save").textContent = "Add";
  document.getElementById("cancel").hidden = true;
  showProblem(form, null);
}

form.addEventListener("submit", async event => {
  event.preventDefault();
  const body = {};
  for (const key of SETTINGS) {
    const input = form.elements[key];
    const value = input.type === "checkbox" ? input.checked : input.value.trim();
    if (editing) {
      // Send what changed; a cleared field goes back to its default.
      const before = editing.settings[key] ?? "";
      const now = input.type === "checkbox" ? String(value) : value;
      if (now !== before) body[key] = now === "" ? null : value;
    } else if (value !== "" && value !== false) {
      body[key] = value;
    }
  }
  const result = editing
    ? await send("PATCH", `/api/v1/streams/${path(editing.name)}`, body, editing.etag)
    : await send("POST", "/api/v1/streams", { name: form.elements.name.value.trim(), ...body });
  if (!result.ok) return showProblem(form, result.problem);
  stopEdit();
  refresh();
});

document.getElementById("cancel").addEventListener("click", stopEdit);

async function removeStream(name) {
  if (!confirm(`Delete stream ${name}? Its readers are disconnected.`)) return;
  const result = await send("DELETE", `/api/v1/streams/${path(name)}`);
  if (!result.ok) showError(result.problem.detail || result.problem.title);
  refresh();
}

async function switchChannel(name, stream, tile) {
  const slot = tile.querySelector(".problem");
  slot.textContent = "";
  const result = await send("PUT", `/api/v1/channels/${path(name)}`, { stream });
  if (!result.ok) slot.textContent = Object.values(result.problem.errors || {}).flat().join("; ") || result.problem.detail || result.problem.title;
  refreshTile(tile);
  refresh();
}

async function removeChannel(name) {
  if (!confirm(`Delete channel ${name}? Its readers are disconnected.`)) return;
  const result = await send("DELETE", `/api/v1/channels/${path(name)}`);
  if (!result.ok) showError(result.problem.detail || result.problem.title);
  refresh();
}

channelForm.addEventListener("submit", async event => {
  event.preventDefault();
  const result = await send("POST", "/api/v1/channels", { name: channelForm.elements.name.value.trim(), stream: channelForm.elements.stream.value });
  if (!result.ok) return showProblem(channelForm, result.problem);
  showProblem(channelForm, null);
  channelForm.elements.name.value = "";
  refresh();
});

refresh();
setInterval(refresh, STATUS_EVERY_MS);
setInterval(() => document.querySelectorAll("#wall [data-channel]").forEach(refreshTile), SNAPSHOT_EVERY_MS);
