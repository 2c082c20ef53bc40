namespace Relay.Api;

/// <summary>What a client needs to know about the relay itself (<c>GET /api/v1/server</c>).</summary>
/// <param name="Version">Relay's version.</param>
/// <param name="GStreamer">The GStreamer version in use.</param>
/// <param name="RtspPort">The port RTSP is served on: readers use <c>rtsp://{host}:{RtspPort}/{stream}</c>.</param>
/// <param name="Node">The node this relay runs on (<c>Relay:NodeName</c> or <c>NODE_NAME</c>), when set.</param>
public sealed record ServerInfo(string Version, string GStreamer, int RtspPort, string? Node = null);
