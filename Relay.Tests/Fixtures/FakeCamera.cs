using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Relay.Server.GStreamer;
using Relay.Server.Interop;

namespace Relay.Tests.Fixtures;

/// <summary>What the fake camera serves.</summary>
public sealed record FakeCameraOptions
{
    public int Width { get; init; } = 320;

    public int Height { get; init; } = 240;

    public int Fps { get; init; } = 25;

    /// <summary>Gets the keyframe interval in frames.</summary>
    public int Gop { get; init; } = 25;

    public string VideoCodec { get; init; } = "h264";

    /// <summary>
    /// Gets a value indicating whether the H.264 encoder refreshes the picture gradually (x264 intra-refresh): one IDR
    /// picture at the start, then a recovery point SEI every <see cref="Gop"/> frames instead of IDR pictures.
    /// </summary>
    public bool IntraRefresh { get; init; }

    /// <summary>Gets the videotestsrc pattern (ball moves, so consecutive pictures differ).</summary>
    public string Pattern { get; init; } = "ball";

    /// <summary>Gets the audio track: null, "aac", "pcmu", "pcma" or "opus".</summary>
    public string? Audio { get; init; }

    /// <summary>Gets a value indicating whether to add an L16 audio track, which Relay relays as RTP passthrough.</summary>
    public bool PassthroughTrack { get; init; }

    public string Path { get; init; } = "/cam";

    /// <summary>Gets the user a reader must authenticate as (Basic), or null for an open camera.</summary>
    public string? User { get; init; }

    public string? Password { get; init; }

    /// <summary>
    /// Gets a file to record to: the server then takes RTSP RECORD (ANNOUNCE, SETUP mode=record, RECORD) of one H.264
    /// track, as a media server that receives pushes does, and writes it as MPEG-TS instead of serving a test pattern.
    /// </summary>
    public string? RecordTo { get; init; }
}

/// <summary>
/// An IP camera that is not Relay's code: gst-rtsp-server (driven through Relay's interop layer) serving a live
/// test pattern on 127.0.0.1. It can be powered off (listener closed, every client dropped) and on again on
/// the same port, like a camera reboot.
/// </summary>
/// <remarks>
/// Clients are dropped by shutting their sockets down, not with gst_rtsp_client_close: in gst-rtsp-server 1.22
/// that call is not safe from another thread (it clears the connection's streams while the client's own thread
/// may be dispatching a read, which floods "g_pollable_input_stream_read_nonblocking: assertion failed" and can
/// touch freed memory). After a shutdown each client sees end-of-stream on its own thread and closes itself, the
/// way it does when a peer goes away. The socket is reached through a duplicate descriptor taken when the client
/// connects and closed when the client closes, so a descriptor number is never used after the library reused it.
/// </remarks>
public sealed class FakeCamera : IAsyncDisposable
{
    private static readonly Lock ClientSocketsLock = new();
    private static readonly Dictionary<IntPtr, int> ClientSockets = []; // client -> duplicate of its socket
    private FakeCameraOptions _options;
    private IntPtr _server; // owned (g_object_unref); touched on the GLib loop thread only
    private IntPtr _sessionPool; // owned
    private uint _sourceId;

    private FakeCamera(FakeCameraOptions options)
    {
        _options = options;
    }

    /// <summary>Gets the TCP port the camera listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Gets the stream URL, without credentials.</summary>
    public Uri Url => new($"rtsp://127.0.0.1:{Port}{_options.Path}");

    /// <summary>Gets the stream URL with the configured credentials in it.</summary>
    public Uri UrlWithCredentials(string? user = null, string? password = null) =>
        new($"rtsp://{Uri.EscapeDataString(user ?? _options.User ?? string.Empty)}:{Uri.EscapeDataString(password ?? _options.Password ?? string.Empty)}@127.0.0.1:{Port}{_options.Path}");

    /// <summary>Gets a value indicating whether the camera is on.</summary>
    public bool IsRunning => _sourceId != 0;

    /// <summary>Gets the RTSP sessions the camera has open (one per SETUP client).</summary>
    public int SessionCount => IsRunning ? (int)GstRuntime.MainLoop.InvokeAsync(() => _sessionPool == IntPtr.Zero ? 0u : GstRtspServer.gst_rtsp_session_pool_get_n_sessions(_sessionPool)).GetAwaiter().GetResult() : 0;

    /// <summary>Gets the gst-rtsp-server launch description (one payloader per track).</summary>
    public string Launch
    {
        get
        {
            var o = _options;
            if (o.RecordTo is not null)
            {
                return $"( rtph264depay name=depay0 ! h264parse ! mpegtsmux ! filesink location={o.RecordTo} sync=false )";
            }

            var video = o.VideoCodec == "h265"
                ? $"x265enc tune=zerolatency speed-preset=ultrafast bitrate=500 key-int-max={o.Gop} ! rtph265pay name=pay0 pt=96"
                : $"x264enc tune=zerolatency speed-preset=ultrafast bitrate=500 key-int-max={o.Gop}{(o.IntraRefresh ? " intra-refresh=true" : string.Empty)} ! rtph264pay name=pay0 pt=96";
            var launch = $"( videotestsrc is-live=true pattern={o.Pattern} ! video/x-raw,format=I420,width={o.Width},height={o.Height},framerate={o.Fps}/1 ! {video}";
            var pay = 1;
            if (o.Audio is not null)
            {
                launch += " " + (o.Audio switch
                {
                    "aac" => "audiotestsrc is-live=true wave=sine volume=0.2 ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ! voaacenc ! rtpmp4gpay",
                    "pcmu" => "audiotestsrc is-live=true wave=sine volume=0.2 samplesperbuffer=160 ! audioconvert ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay",
                    "pcma" => "audiotestsrc is-live=true wave=sine volume=0.2 samplesperbuffer=160 ! audioconvert ! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay",
                    "opus" => "audiotestsrc is-live=true wave=sine volume=0.2 ! audioconvert ! audioresample ! opusenc ! rtpopuspay",
                    _ => throw new ArgumentException($"unknown audio '{o.Audio}'"),
                }) + $" name=pay{pay} pt={96 + pay}";
                pay++;
            }

            if (o.PassthroughTrack)
            {
                launch += $" audiotestsrc is-live=true wave=square volume=0.1 samplesperbuffer=160 ! audioconvert ! audio/x-raw,format=S16BE,rate=8000,channels=1 ! rtpL16pay name=pay{pay} pt={96 + pay}";
            }

            return launch + " )";
        }
    }

    /// <summary>Starts a camera on a free loopback port.</summary>
    public static async Task<FakeCamera> StartAsync(FakeCameraOptions? options = null)
    {
        var camera = new FakeCamera(options ?? new FakeCameraOptions());
        await camera.PowerOnAsync(port: 0);
        return camera;
    }

    /// <summary>Powers the camera off: every client is dropped and the port stops listening.</summary>
    public Task PowerOffAsync() => GstRuntime.MainLoop.InvokeAsync(() =>
    {
        ShutDownOnLoop();
        return true;
    });

    /// <summary>Powers the camera on again on the same port, optionally serving something else (a firmware change).</summary>
    public Task PowerOnAsync(FakeCameraOptions? options = null)
    {
        _options = options ?? _options;
        return PowerOnAsync(Port);
    }

    public async ValueTask DisposeAsync() => await PowerOffAsync();

    private async Task PowerOnAsync(int port)
    {
        // A relay reconnecting while the camera is off can briefly hold the port: Linux lets a loopback connect to a
        // closed port connect to itself (TCP simultaneous open). It lets go when the RTSP exchange fails.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Port = await GstRuntime.MainLoop.InvokeAsync(() => StartOnLoop(port));
                return;
            }
            catch (InvalidOperationException) when (port != 0 && attempt < 50)
            {
                await Task.Delay(100);
            }
        }
    }

    private unsafe int StartOnLoop(int port)
    {
        if (_server != IntPtr.Zero)
        {
            throw new InvalidOperationException("The camera is already on.");
        }

        _server = GstRtspServer.gst_rtsp_server_new();
        GstRtspServer.gst_rtsp_server_set_address(_server, "127.0.0.1");
        GstRtspServer.gst_rtsp_server_set_service(_server, port.ToString(CultureInfo.InvariantCulture));

        // The default of one client thread serialises clients behind a slow DESCRIBE (interop notes, pitfall 1).
        var pool = GstRtspServer.gst_rtsp_server_get_thread_pool(_server);
        GstRtspServer.gst_rtsp_thread_pool_set_max_threads(pool, -1);
        GObject.g_object_unref(pool);
        _sessionPool = GstRtspServer.gst_rtsp_server_get_session_pool(_server);

        var factory = GstRtspServer.gst_rtsp_media_factory_new();
        GstRtspServer.gst_rtsp_media_factory_set_launch(factory, Launch);
        GstRtspServer.gst_rtsp_media_factory_set_shared(factory, _options.RecordTo is null ? 1 : 0);
        if (_options.RecordTo is not null)
        {
            GstRtspServer.gst_rtsp_media_factory_set_transport_mode(factory, 2);
        }

        if (_options.User is not null)
        {
            ConfigureAuth(factory);
        }

        var mounts = GstRtspServer.gst_rtsp_server_get_mount_points(_server);
        GstRtspServer.gst_rtsp_mount_points_add_factory(mounts, _options.Path, factory); // takes the factory ref
        GObject.g_object_unref(mounts);

        GObject.g_signal_connect_data(_server, "client-connected", (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, void>)&OnClientConnected, IntPtr.Zero, null, 0);
        var loop = GstRuntime.MainLoop;
        _sourceId = GstRtspServer.gst_rtsp_server_attach(_server, loop.Context.Ptr);
        if (_sourceId == 0)
        {
            ReleaseServer();
            throw new InvalidOperationException($"The fake camera could not listen on 127.0.0.1:{port}.");
        }

        return GstRtspServer.gst_rtsp_server_get_bound_port(_server);
    }

    private void ConfigureAuth(IntPtr factory)
    {
        var auth = GstRtspServer.gst_rtsp_auth_new();
        var token = GstRtspServer.gst_rtsp_token_new_empty();
        GstRtspServer.gst_rtsp_token_set_string(token, "media.factory.role", "viewer");
        var basic = GstRtspServer.gst_rtsp_auth_make_basic(_options.User!, _options.Password ?? string.Empty);
        GstRtspServer.gst_rtsp_auth_add_basic(auth, Marshal.PtrToStringUTF8(basic)!, token);
        GLib.g_free(basic);
        Gst.gst_mini_object_unref(token);
        var permissions = GstRtspServer.gst_rtsp_permissions_new();
        GstRtspServer.gst_rtsp_permissions_add_permission_for_role(permissions, "viewer", "media.factory.access", 1);
        GstRtspServer.gst_rtsp_permissions_add_permission_for_role(permissions, "viewer", "media.factory.construct", 1);
        GstRtspServer.gst_rtsp_media_factory_set_permissions(factory, permissions);
        Gst.gst_mini_object_unref(permissions);
        GstRtspServer.gst_rtsp_server_set_auth(_server, auth);
        GObject.g_object_unref(auth);
    }

    private unsafe void ShutDownOnLoop()
    {
        if (_server == IntPtr.Zero)
        {
            return;
        }

        // Drop every client (each closes itself on its own thread; the shared media is unprepared after the last),
        // then stop listening.
        var list = GstRtspServer.gst_rtsp_server_client_filter(_server, &DropClient, IntPtr.Zero);
        GLib.g_list_free(list);
        var source = GLib.g_main_context_find_source_by_id(GstRuntime.MainLoop.Context.Ptr, _sourceId);
        if (source != IntPtr.Zero)
        {
            GLib.g_source_destroy(source);
        }

        _sourceId = 0;
        ReleaseServer();
    }

    private void ReleaseServer()
    {
        if (_sessionPool != IntPtr.Zero)
        {
            GObject.g_object_unref(_sessionPool);
            _sessionPool = IntPtr.Zero;
        }

        GObject.g_object_unref(_server);
        _server = IntPtr.Zero;
    }

    /// <summary>"client-connected", on the server's context before the client is attached to its own thread.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static unsafe void OnClientConnected(IntPtr server, IntPtr client, IntPtr data)
    {
        var connection = GstRtspServer.gst_rtsp_client_get_connection(client);
        var socket = connection == IntPtr.Zero ? IntPtr.Zero : GstRtspServer.gst_rtsp_connection_get_read_socket(connection);
        var duplicate = socket == IntPtr.Zero ? -1 : LibC.fcntl(GstRtspServer.g_socket_get_fd(socket), LibC.FDupFdCloExec, 0);
        if (duplicate < 0)
        {
            return;
        }

        lock (ClientSocketsLock)
        {
            if (ClientSockets.Remove(client, out var stale))
            {
                LibC.close(stale);
            }

            ClientSockets[client] = duplicate;
        }

        GObject.g_signal_connect_data(client, "closed", (IntPtr)(delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void>)&OnClientClosed, IntPtr.Zero, null, 0);
    }

    /// <summary>"closed", on the client's own thread once its connection is gone.</summary>
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnClientClosed(IntPtr client, IntPtr data)
    {
        lock (ClientSocketsLock)
        {
            if (ClientSockets.Remove(client, out var duplicate))
            {
                LibC.close(duplicate);
            }
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int DropClient(IntPtr server, IntPtr client, IntPtr data)
    {
        lock (ClientSocketsLock)
        {
            if (ClientSockets.TryGetValue(client, out var duplicate))
            {
                LibC.shutdown(duplicate, LibC.ShutReadWrite);
                return GstRtspServer.FilterKeep;
            }
        }

        return GstRtspServer.FilterRemove; // no socket of its own to end (it never finished connecting): close it here
    }
}
