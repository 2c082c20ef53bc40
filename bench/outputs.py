#!/usr/bin/env python3
"""What Relay's browser outputs cost, side by side in one run.

A camera (a second Relay process encoding a 720p25 test pattern, so encoding is not counted) is pulled by the
measured relay; every point measures the relay's CPU (utime+stime of its process, % of one core) and RSS over a
window:

  idle            the relay pulls the camera, nobody reads
  hls-1, hls-20   1 and 20 low-latency HLS players (each polls like hls.js: blocking playlist reload, then the new parts)
  mjpeg-kf        10 MJPEG viewers, 640 px, 1 fps: keyframes only are decoded (the camera sends one a second)
  mjpeg-all       10 MJPEG viewers, 640 px, 2 fps: every frame is decoded (2 > the keyframe rate)
  mjpeg-5         10 MJPEG viewers, 640 px, 5 fps (every frame decoded)
  gst-hlssink2    GStreamer doing the HLS job alone: rtspsrc ! depay ! h264parse ! hlssink2 (files on tmpfs)
  gst-mp4mux      GStreamer's fragmented-MP4 muxer on the same input (the alternative to Relay's own fMP4 writer),
                  200 ms fragments like Relay's parts
  gst-ingest      the same GStreamer ingest without a muxer (to isolate the muxers' share)

Usage: bench/outputs.py --relay artifacts/relay-aot/Relay.Server [--window 20] [--repeats 2]
Prints a table and writes JSON next to it (--json). Needs GStreamer's gst-launch-1.0 (gstreamer1.0-tools).
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def wait_http(port, path, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"127.0.0.1:{port}{path} did not answer 200 within {timeout} s")


def start_relay(binary, http_port, rtsp_port, streams):
    # A short HLS idle timeout, so the muxer of the HLS points is gone before the MJPEG points.
    args = [binary, f"--urls=http://127.0.0.1:{http_port}", "--Relay:Rtsp:Address=127.0.0.1", "--Relay:Hls:IdleTimeout=2s",
            f"--Relay:Rtsp:Port={rtsp_port}", "--Relay:Rtsp:RtpPort=0", "--Relay:Rtsp:RtcpPort=0"]
    args += [f"--Relay:Streams:{name}:Source={source}" for name, source in streams.items()]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class HlsPlayer(threading.Thread):
    """Polls like hls.js in low-latency mode: blocking playlist reloads, each new part fetched once."""

    def __init__(self, port, path, stop):
        super().__init__(daemon=True)
        self.port, self.path, self.stop = port, path, stop
        self.parts = 0
        self.bytes = 0
        self.errors = 0

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        seen = set()
        directive = ""
        while not self.stop.is_set():
            try:
                conn.request("GET", f"{self.path}/stream.m3u8{directive}")
                response = conn.getresponse()
                text = response.read().decode()
                if response.status != 200:
                    self.errors += 1
                    time.sleep(0.2)
                    continue
                for uri in re.findall(r'#EXT-X-PART:[^\n]*URI="([^"]+)"', text)[-3:]:
                    if uri not in seen:
                        seen.add(uri)
                        conn.request("GET", f"{self.path}/{uri}")
                        body = conn.getresponse().read()
                        self.parts += 1
                        self.bytes += len(body)
                hint = re.search(r'PRELOAD-HINT:TYPE=PART,URI="[^"]*-part(\d+)\.(\d+)\.m4s"', text)
                directive = f"?_HLS_msn={hint.group(1)}&_HLS_part={hint.group(2)}" if hint else ""
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                time.sleep(0.2)


class MjpegViewer(threading.Thread):
    def __init__(self, port, path, stop):
        super().__init__(daemon=True)
        self.port, self.path, self.stop = port, path, stop
        self.pictures = 0

    def run(self):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(f"GET {self.path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode())
            s.settimeout(1)
            while not self.stop.is_set():
                try:
                    data = s.recv(1 << 16)
                except socket.timeout:
                    continue
                if not data:
                    return
                self.pictures += data.count(b"--relayframe")


def measure(pid, window, settle):
    time.sleep(settle)  # let the point reach its steady state before counting
    start = cpu_seconds(pid)
    time.sleep(window)
    return 100 * (cpu_seconds(pid) - start) / window, rss_mb(pid)


def run_clients(factory, count, pid, window, settle):
    stop = threading.Event()
    clients = [factory(stop) for _ in range(count)]
    for c in clients:
        c.start()
    cpu, rss = measure(pid, window, settle)
    stop.set()
    for c in clients:
        c.join(timeout=15)
    return cpu, rss, clients


def gst_point(pipeline, window, settle):
    process = subprocess.Popen(["gst-launch-1.0", "-q", *pipeline.split()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cpu, rss = measure(process.pid, window, settle)
        if process.poll() is not None:
            raise SystemExit(f"gst-launch ended early ({process.returncode}): {pipeline}")
        return cpu, rss
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--relay", required=True, help="the Relay.Server binary (the Native AOT build is what ships)")
    parser.add_argument("--window", type=float, default=20)
    parser.add_argument("--settle", type=float, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", default="bench-outputs.json")
    args = parser.parse_args()

    camera_http, camera_rtsp = free_port(), free_port()
    camera = start_relay(args.relay, camera_http, camera_rtsp, {"cam": "test:pattern=smpte&size=1280x720&fps=25&gop=25&bitrate=2000"})
    results = {}
    try:
        wait_http(camera_http, "/readyz")
        source = f"rtsp://127.0.0.1:{camera_rtsp}/cam"
        wait_http(camera_http, "/streams/cam/snapshot.jpg")  # the camera is encoding
        for repeat in range(args.repeats):
            relay_http, relay_rtsp = free_port(), free_port()
            relay = start_relay(args.relay, relay_http, relay_rtsp, {"cam": source})
            try:
                wait_http(relay_http, "/readyz")
                wait_http(relay_http, "/streams/cam/snapshot.jpg")
                points = {"idle": measure(relay.pid, args.window, args.settle)}
                rss_before_hls = points["idle"][1]
                for count in ((1, 20) if repeat % 2 == 0 else (20, 1)):  # alternate, so order does not bias
                    cpu, rss, players = run_clients(lambda stop: HlsPlayer(relay_http, "/streams/cam", stop), count, relay.pid, args.window, args.settle)
                    points[f"hls-{count}"] = (cpu, rss)
                    errors = sum(p.errors for p in players)
                    parts = [p.parts for p in players]
                    print(f"  r{repeat} hls-{count}: {cpu:.1f} % CPU, RSS {rss:.1f} MB, parts per player {min(parts)}-{max(parts)}, errors {errors}", flush=True)
                metrics = http.client.HTTPConnection("127.0.0.1", relay_http, timeout=10)
                metrics.request("GET", "/metrics")
                held = re.search(r'relay_hls_held_bytes\{stream="cam"\} (\S+)', metrics.getresponse().read().decode())
                points["hls-held-mb"] = (0.0, float(held.group(1)) / 1e6 if held else float("nan"))
                points["hls-rss-added-mb"] = (0.0, rss - rss_before_hls)
                time.sleep(4)  # the muxer stops 2 s after the last request
                for name, fps in (("mjpeg-kf", 1), ("mjpeg-all", 2), ("mjpeg-5", 5)):
                    cpu, rss, viewers = run_clients(lambda stop, f=fps: MjpegViewer(relay_http, f"/streams/cam/mjpeg?width=640&fps={f}", stop), 10, relay.pid, args.window, args.settle)
                    points[name] = (cpu, rss)
                    rates = [v.pictures / (args.window + args.settle) for v in viewers]
                    print(f"  r{repeat} {name}: {cpu:.1f} % CPU, pictures/s per viewer {min(rates):.2f}-{max(rates):.2f}", flush=True)
                    time.sleep(6)  # the feed stops 5 s after its last viewer
            finally:
                relay.terminate()
                relay.wait(10)

            hls_dir = tempfile.mkdtemp(prefix="relay-bench-hls-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
            try:
                ingest = f"rtspsrc location={source} protocols=tcp latency=0 ! rtph264depay ! h264parse"
                points["gst-hlssink2"] = gst_point(f"{ingest} ! hlssink2 target-duration=1 max-files=7 playlist-location={hls_dir}/index.m3u8 location={hls_dir}/seg%05d.ts", args.window, args.settle)
                # (h264timestamper: mp4mux refuses the PTS-less parameter-set buffers the depayloader emits)
                points["gst-mp4mux"] = gst_point(f"{ingest} ! h264timestamper ! mp4mux fragment-duration=200 streamable=true ! fakesink", args.window, args.settle)
                points["gst-ingest"] = gst_point(f"{ingest} ! fakesink", args.window, args.settle)
            finally:
                shutil.rmtree(hls_dir, ignore_errors=True)
            for name, value in points.items():
                results.setdefault(name, []).append(value)
            print(f"  r{repeat} done: " + ", ".join(f"{k} {v[0]:.1f}%" for k, v in points.items()), flush=True)
    finally:
        camera.terminate()
        camera.wait(10)

    table = {name: {"cpu": statistics.median(v[0] for v in values), "rss": statistics.median(v[1] for v in values),
                    "cpu_runs": [round(v[0], 2) for v in values]} for name, values in results.items()}
    print(f"\nmedians over {args.repeats} repeat(s), {args.window:.0f} s windows, % of one core:")
    print("| point | CPU % | RSS MB | runs |\n|---|---|---|---|")
    for name, row in table.items():
        label = {"hls-held-mb": "HLS window held (MB, from relay_hls_held_bytes)", "hls-rss-added-mb": "RSS added by HLS with 20 players (MB)"}.get(name, name)
        print(f"| {label} | {row['cpu']:.1f} | {row['rss']:.1f} | {row['cpu_runs']} |")
    with open(args.json, "w") as f:
        json.dump(table, f, indent=2)
    print(f"\nwritten to {args.json}")


if __name__ == "__main__":
    sys.exit(main())
