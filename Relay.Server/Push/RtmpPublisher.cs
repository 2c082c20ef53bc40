using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Relay.Server.Sources;

namespace Relay.Server.Push;

/// <summary>
/// Publishes one stream to an RTMP or RTMPS server (Adobe's RTMP specification 1.0): the plain handshake,
/// <c>connect</c>, <c>releaseStream</c>, <c>FCPublish</c>, <c>createStream</c> and <c>publish</c>, then media
/// messages, each chunked into one buffer and written with one write from the caller's thread. A reading task answers
/// the server (pings, acknowledgement windows, chunk sizes) and reports an error status or a closed connection.
/// </summary>
internal sealed class RtmpPublisher : IAsyncDisposable
{
    /// <summary>How long a write may wait for the server to take it before the connection counts as dead.</summary>
    internal static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A connection the server closes this soon after it said the publish started counts as a refusal: nginx-rtmp's
    /// <c>deny publish</c> and platforms that check the stream key after <c>NetStream.Publish.Start</c> do that.
    /// </summary>
    internal static readonly TimeSpan RefusalWindow = TimeSpan.FromSeconds(5);

    private const int HandshakeSize = 1536;
    private const int OutChunkSize = 4096;
    private const int MaxIncomingMessage = 1 << 20;
    private const uint ExtendedTimestamp = 0xFFFFFF;

    // Chunk streams (the numbers rtmp2 and FFmpeg use too) and message types.
    private const int ControlChunkStream = 2;
    private const int CommandChunkStream = 3;
    private const int DataChunkStream = 4;
    private const int AudioChunkStream = 5;
    private const int VideoChunkStream = 6;
    private const byte SetChunkSizeType = 1;
    private const byte AbortType = 2;
    private const byte AcknowledgementType = 3;
    private const byte UserControlType = 4;
    private const byte WindowAckSizeType = 5;
    private const byte Amf3CommandType = 17;
    private const byte Amf0CommandType = 20;

    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly Uri _url;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly CancellationTokenSource _closing = new();
    private readonly Dictionary<int, IncomingChunkStream> _incoming = []; // the reading side's only
    private readonly byte[] _readBuffer = new byte[16];
    private readonly Timer _watchdog;
    private byte[] _out = new byte[64 * 1024]; // guarded by _writeLock
    private int _inChunkSize = 128;
    private long _received;
    private long _acknowledged;
    private uint _window = 2_500_000;
    private uint _streamId;
    private long _writeStarted; // Stopwatch timestamp of the write in progress, 0 when none
    private Action<string, bool>? _onFailed;
    private long _publishedAt; // Stopwatch timestamp of NetStream.Publish.Start
    private Task? _reading;
    private int _failed;

    private RtmpPublisher(Socket socket, Stream stream, Uri url)
    {
        _socket = socket;
        _stream = stream;
        _url = url;
        _watchdog = new Timer(_ => CheckWrite(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>
    /// Connects to <paramref name="url"/> (<c>rtmp://host[:port]/app/streamkey</c>, or <c>rtmps://</c>) and starts
    /// publishing: media can be sent when this returns.
    /// </summary>
    /// <param name="onFailed">Called once when the connection fails after that: the scrubbed message, and whether the server refused the publish.</param>
    /// <param name="trust">For RTMPS, the certificates to trust instead of the system's roots (a private server's own CA); null for the system's.</param>
    /// <exception cref="RtmpException">The server cannot be reached, does not speak RTMP, or refuses the publish.</exception>
    public static async Task<RtmpPublisher> ConnectAsync(Uri url, TimeSpan timeout, Action<string, bool> onFailed, CancellationToken cancellationToken, X509Certificate2Collection? trust = null)
    {
        var rtmps = url.Scheme == "rtmps";
        var port = url.IsDefaultPort || url.Port <= 0 ? (rtmps ? 443 : 1935) : url.Port;
        var (app, streamName) = Split(url);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        RtmpPublisher? publisher = null;
        var phase = "connecting";
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await socket.ConnectAsync(url.DnsSafeHost, port, limit.Token);
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (rtmps)
            {
                phase = "in the TLS handshake";
                var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = tls;
                var options = new SslClientAuthenticationOptions { TargetHost = url.IdnHost };
                if (trust is not null)
                {
                    options.CertificateChainPolicy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
                    options.CertificateChainPolicy.CustomTrustStore.AddRange(trust);
                }

                await tls.AuthenticateAsClientAsync(options, limit.Token);
            }

            publisher = new RtmpPublisher(socket, stream, url);
            phase = "in the RTMP handshake";
            await publisher.HandshakeAsync(limit.Token);
            phase = "after connect";
            await publisher.ConnectAppAsync(app, port, limit.Token);
            phase = "when asked to publish";
            await publisher.PublishAsync(streamName, limit.Token);
            publisher._onFailed = onFailed;
            publisher._reading = Task.Run(publisher.ReadLoopAsync, CancellationToken.None);
            return publisher;
        }
        catch (Exception e) when (e is not RtmpException)
        {
            await Discard(publisher, socket);
            if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw e switch
            {
                OperationCanceledException => new RtmpException($"no answer {phase} within {timeout.TotalSeconds:0} s", refused: false),
                SocketException s => new RtmpException($"cannot connect to {url.Host}:{port}: {s.Message}", refused: false),
                AuthenticationException a => new RtmpException($"the TLS handshake failed: {a.Message}", refused: false),
                // nginx-rtmp and others close the connection on a publish they refuse (a wrong key, a publisher not allowed).
                EndOfStreamException or IOException when phase == "when asked to publish" =>
                    new RtmpException("the server closed the connection when asked to publish (a wrong stream key, or a publisher it does not allow)", refused: true),
                EndOfStreamException or IOException => new RtmpException($"the server closed the connection {phase}", refused: false),
                FormatException f => new RtmpException($"the server's answer is not RTMP ({f.Message})", refused: false),
                _ => new RtmpException(SourceUri.Scrub(e.Message, url), refused: false),
            };
        }
        catch (RtmpException e)
        {
            await Discard(publisher, socket);
            throw new RtmpException(SourceUri.Scrub(e.Message, url), e.Refused); // a server's description may quote the key
        }
    }

    /// <summary>Sends one message of stream data: audio or video (FLV tag bodies) or AMF0 data.</summary>
    /// <param name="type">The message type (8 audio, 9 video, 18 data).</param>
    /// <param name="milliseconds">The message time.</param>
    /// <param name="body">The message payload.</param>
    /// <exception cref="IOException">The connection failed.</exception>
    public ValueTask SendAsync(byte type, uint milliseconds, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var chunkStream = type switch { FlvWriter.AudioType => AudioChunkStream, FlvWriter.VideoType => VideoChunkStream, _ => DataChunkStream };
        return WriteMessageAsync(chunkStream, type, milliseconds, _streamId, body, cancellationToken);
    }

    /// <summary>Sends the stream's metadata (<c>@setDataFrame</c> with an <c>onMetaData</c> body).</summary>
    public ValueTask SendMetadataAsync(ReadOnlySpan<byte> metadata, CancellationToken cancellationToken)
    {
        byte[] body = [.. new Amf0.Writer().String("@setDataFrame").ToArray(), .. metadata];
        return SendAsync(FlvWriter.ScriptType, 0, body, cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _failed, 1);
        await _closing.CancelAsync();
        await _watchdog.DisposeAsync();
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }

        await _stream.DisposeAsync();
        if (_reading is not null)
        {
            await _reading;
        }

        _closing.Dispose();
        _writeLock.Dispose();
    }

    /// <summary>Splits a URL into the application (the path but its last segment) and the stream name (the last segment and the query).</summary>
    /// <exception cref="RtmpException">There is no application or no stream name.</exception>
    internal static (string App, string Stream) Split(Uri url)
    {
        var path = url.AbsolutePath.Trim('/');
        var slash = path.LastIndexOf('/');
        if (slash <= 0 || slash == path.Length - 1)
        {
            throw new RtmpException("the URL needs an application and a stream key: rtmp://host/app/key", refused: true);
        }

        return (Uri.UnescapeDataString(path[..slash]), Uri.UnescapeDataString(path[(slash + 1)..]) + url.Query);
    }

    private static async Task Discard(RtmpPublisher? publisher, Socket socket)
    {
        if (publisher is not null)
        {
            await publisher.DisposeAsync();
        }
        else
        {
            socket.Dispose();
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        // C0 (version 3) and C1 (time, zero, random); the server answers S0, S1, S2; C2 echoes S1.
        var c0c1 = new byte[1 + HandshakeSize];
        c0c1[0] = 3;
        RandomNumberGenerator.Fill(c0c1.AsSpan(9));
        await _stream.WriteAsync(c0c1, cancellationToken);
        var s0s1 = new byte[1 + HandshakeSize];
        await _stream.ReadExactlyAsync(s0s1, cancellationToken);
        if (s0s1[0] != 3)
        {
            throw new RtmpException($"the server is not an RTMP server (handshake version {s0s1[0]})", refused: false);
        }

        await _stream.WriteAsync(s0s1.AsMemory(1), cancellationToken);
        await _stream.ReadExactlyAsync(new byte[HandshakeSize], cancellationToken);
        var chunkSize = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(chunkSize, OutChunkSize);
        await SendControlAsync(SetChunkSizeType, chunkSize, cancellationToken);
    }

    private async Task ConnectAppAsync(string app, int port, CancellationToken cancellationToken)
    {
        var defaultPort = port == (_url.Scheme == "rtmps" ? 443 : 1935);
        var tcUrl = $"{_url.Scheme}://{_url.Host}{(defaultPort ? "" : ":" + port.ToString(CultureInfo.InvariantCulture))}/{app}";
        await SendCommandAsync(
            new Amf0.Writer().String("connect").Number(1).Object([
                ("app", app), ("type", "nonprivate"), ("flashVer", "FMLE/3.0 (compatible; Relay)"), ("tcUrl", tcUrl),
            ]),
            0,
            cancellationToken);
        var reply = await ReadReplyAsync(1, cancellationToken);
        if (reply[0] as string != "_result")
        {
            throw new RtmpException($"the server refused the connection ({Describe(reply)})", refused: true);
        }
    }

    private async Task PublishAsync(string stream, CancellationToken cancellationToken)
    {
        await SendCommandAsync(new Amf0.Writer().String("releaseStream").Number(2).Null().String(stream), 0, cancellationToken);
        await SendCommandAsync(new Amf0.Writer().String("FCPublish").Number(3).Null().String(stream), 0, cancellationToken);
        await SendCommandAsync(new Amf0.Writer().String("createStream").Number(4).Null(), 0, cancellationToken);
        var created = await ReadReplyAsync(4, cancellationToken);
        if (created[0] as string != "_result" || created.Count < 4 || created[3] is not double id || id is < 1 or > uint.MaxValue)
        {
            throw new RtmpException($"the server did not create a stream ({Describe(created)})", refused: true);
        }

        _streamId = (uint)id;
        await SendCommandAsync(new Amf0.Writer().String("publish").Number(5).Null().String(stream).String("live"), _streamId, cancellationToken);
        while (true)
        {
            var status = await ReadCommandAsync(cancellationToken);
            if (status[0] as string is "onStatus" && Info(status) is { } info)
            {
                if (info.GetValueOrDefault("code") as string == "NetStream.Publish.Start")
                {
                    _publishedAt = Stopwatch.GetTimestamp();
                    return;
                }

                if (info.GetValueOrDefault("level") as string == "error")
                {
                    throw new RtmpException($"the server refused to publish ({Describe(status)})", refused: true);
                }
            }
            else if (status[0] as string == "_error" && status.Count > 1 && status[1] is 5.0)
            {
                throw new RtmpException($"the server refused to publish ({Describe(status)})", refused: true);
            }
        }
    }

    /// <summary>Reads commands until the answer to <paramref name="transaction"/> (<c>_result</c> or <c>_error</c>).</summary>
    private async Task<List<object?>> ReadReplyAsync(double transaction, CancellationToken cancellationToken)
    {
        while (true)
        {
            var command = await ReadCommandAsync(cancellationToken);
            if (command[0] as string is "_result" or "_error" && command.Count > 1 && command[1] is double id && id == transaction)
            {
                return command;
            }
        }
    }

    /// <summary>Reads messages, handling control messages, until a command; returns its AMF0 values (name first).</summary>
    private async Task<List<object?>> ReadCommandAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (type, payload) = await ReadMessageAsync(cancellationToken);
            if (await HandleControlAsync(type, payload, cancellationToken))
            {
                continue;
            }

            if (type is Amf0CommandType or Amf3CommandType)
            {
                var values = Amf0.ReadAll(type == Amf3CommandType && payload.Length > 0 ? payload.AsSpan(1) : payload);
                if (values.Count > 0 && values[0] is string)
                {
                    return values;
                }
            }
        }
    }

    /// <summary>After publishing started: answers the server and watches for an error status or the end of the connection.</summary>
    private async Task ReadLoopAsync()
    {
        _watchdog.Change(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        try
        {
            while (true)
            {
                var command = await ReadCommandAsync(_closing.Token);
                if (command[0] as string == "onStatus" && Info(command) is { } info && info.GetValueOrDefault("level") as string == "error")
                {
                    Fail($"the server stopped the publish ({Describe(command)})", refused: true);
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException && _closing.IsCancellationRequested)
        {
            // Disposed.
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or ObjectDisposedException or SocketException)
        {
            FailClosed();
        }
        catch (Exception e) when (e is FormatException or RtmpException)
        {
            Fail($"the server sent something that is not RTMP ({e.Message})", refused: false);
        }
        catch (Exception e)
        {
            Fail($"the connection failed ({e.Message})", refused: false);
        }
    }

    private void CheckWrite()
    {
        var started = Volatile.Read(ref _writeStarted);
        if (started != 0 && Stopwatch.GetElapsedTime(started) > WriteTimeout)
        {
            Fail($"the server took no media for {WriteTimeout.TotalSeconds:0} s", refused: false);
            _socket.Dispose(); // ends the write that waits
        }
    }

    private void FailClosed()
    {
        if (Stopwatch.GetElapsedTime(_publishedAt) < RefusalWindow)
        {
            Fail("the server closed the connection right after the publish started (a wrong stream key, or a publisher it does not allow)", refused: true);
        }
        else
        {
            Fail("the server closed the connection", refused: false);
        }
    }

    private void Fail(string message, bool refused)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
        {
            _onFailed?.Invoke(SourceUri.Scrub(message, _url), refused);
        }
    }

    /// <summary>Handles a protocol control or user control message; false for anything else.</summary>
    private async ValueTask<bool> HandleControlAsync(byte type, byte[] payload, CancellationToken cancellationToken)
    {
        switch (type)
        {
            case SetChunkSizeType when payload.Length >= 4:
                _inChunkSize = Math.Max(1, BinaryPrimitives.ReadInt32BigEndian(payload) & 0x7FFFFFFF);
                return true;
            case AbortType when payload.Length >= 4:
                _incoming.Remove(BinaryPrimitives.ReadInt32BigEndian(payload));
                return true;
            case WindowAckSizeType when payload.Length >= 4:
                _window = Math.Max(1, BinaryPrimitives.ReadUInt32BigEndian(payload));
                return true;
            case UserControlType when payload.Length >= 6 && BinaryPrimitives.ReadUInt16BigEndian(payload) == 6:
                // Ping request: answer with a ping response carrying the same time, or the server drops the publisher.
                var pong = new byte[6];
                pong[1] = 7;
                payload.AsSpan(2, 4).CopyTo(pong.AsSpan(2));
                await SendControlAsync(UserControlType, pong, cancellationToken);
                return true;
            case SetChunkSizeType or AbortType or AcknowledgementType or UserControlType or WindowAckSizeType or 6: // 6: set peer bandwidth
                return true;
            default:
                return false;
        }
    }

    /// <summary>Reads chunks until one message is whole; acknowledges received bytes when the server's window asks for it.</summary>
    private async Task<(byte Type, byte[] Payload)> ReadMessageAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var first = await ReadBytesAsync(1, cancellationToken);
            var format = first[0] >> 6;
            var id = first[0] & 0x3F;
            if (id == 0)
            {
                id = 64 + (await ReadBytesAsync(1, cancellationToken))[0];
            }
            else if (id == 1)
            {
                var two = await ReadBytesAsync(2, cancellationToken);
                id = 64 + two[0] + (two[1] << 8);
            }

            if (!_incoming.TryGetValue(id, out var chunkStream))
            {
                if (_incoming.Count >= 64)
                {
                    throw new RtmpException("too many chunk streams", refused: false);
                }

                chunkStream = _incoming[id] = new IncomingChunkStream();
            }

            if (format < 3)
            {
                var header = await ReadBytesAsync(format switch { 0 => 11, 1 => 7, _ => 3 }, cancellationToken);
                chunkStream.Extended = (uint)(header[0] << 16 | header[1] << 8 | header[2]) == ExtendedTimestamp;
                if (format <= 1)
                {
                    chunkStream.Length = header[3] << 16 | header[4] << 8 | header[5];
                    chunkStream.Type = header[6];
                }
            }

            if (chunkStream.Extended)
            {
                _ = await ReadBytesAsync(4, cancellationToken); // the time is not needed by a publisher
            }

            if (chunkStream.Length > MaxIncomingMessage)
            {
                throw new RtmpException($"a message of {chunkStream.Length} bytes from the server", refused: false);
            }

            chunkStream.Payload ??= new byte[chunkStream.Length];
            var count = Math.Min(_inChunkSize, chunkStream.Length - chunkStream.Filled);
            await _stream.ReadExactlyAsync(chunkStream.Payload.AsMemory(chunkStream.Filled, count), cancellationToken);
            _received += count;
            chunkStream.Filled += count;
            if (_received - _acknowledged >= _window)
            {
                _acknowledged = _received;
                var sequence = new byte[4];
                BinaryPrimitives.WriteUInt32BigEndian(sequence, (uint)_received);
                await SendControlAsync(AcknowledgementType, sequence, cancellationToken);
            }

            if (chunkStream.Filled == chunkStream.Length)
            {
                var message = (chunkStream.Type, chunkStream.Payload);
                chunkStream.Payload = null;
                chunkStream.Filled = 0;
                return message;
            }
        }
    }

    private async ValueTask<byte[]> ReadBytesAsync(int count, CancellationToken cancellationToken)
    {
        var buffer = count <= _readBuffer.Length ? _readBuffer : new byte[count];
        await _stream.ReadExactlyAsync(buffer.AsMemory(0, count), cancellationToken);
        _received += count;
        return buffer;
    }

    private ValueTask SendCommandAsync(Amf0.Writer command, uint streamId, CancellationToken cancellationToken) =>
        WriteMessageAsync(CommandChunkStream, Amf0CommandType, 0, streamId, command.ToArray(), cancellationToken);

    private ValueTask SendControlAsync(byte type, byte[] payload, CancellationToken cancellationToken) =>
        WriteMessageAsync(ControlChunkStream, type, 0, 0, payload, cancellationToken);

    /// <summary>Frames one message into the output buffer and writes it, one writer at a time, watched by the watchdog.</summary>
    private async ValueTask WriteMessageAsync(int chunkStream, byte type, uint milliseconds, uint streamId, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var size = Frame(ref _out, chunkStream, type, milliseconds, streamId, body.Span);
            Volatile.Write(ref _writeStarted, Stopwatch.GetTimestamp());
            await _stream.WriteAsync(_out.AsMemory(0, size), cancellationToken);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            FailClosed(); // unless the reading side or the watchdog said why first
            throw;
        }
        finally
        {
            Volatile.Write(ref _writeStarted, 0);
            _writeLock.Release();
        }
    }

    /// <summary>Writes a message as chunks (a type-0 header, then type-3 headers every <see cref="OutChunkSize"/> bytes) into <paramref name="buffer"/>, growing it when needed.</summary>
    /// <returns>The bytes written.</returns>
    internal static int Frame(ref byte[] buffer, int chunkStream, byte type, uint milliseconds, uint streamId, ReadOnlySpan<byte> body)
    {
        var extended = milliseconds >= ExtendedTimestamp;
        var extra = extended ? 4 : 0;
        var chunks = Math.Max(1, (body.Length + OutChunkSize - 1) / OutChunkSize);
        var size = 12 + extra + ((chunks - 1) * (1 + extra)) + body.Length;
        if (buffer.Length < size)
        {
            buffer = new byte[size + (size / 4)];
        }

        var span = buffer.AsSpan();
        span[0] = (byte)chunkStream; // format 0
        WriteInt24(span[1..], extended ? ExtendedTimestamp : milliseconds);
        WriteInt24(span[4..], (uint)body.Length);
        span[7] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], streamId); // the one little-endian field in RTMP
        var at = 12;
        if (extended)
        {
            BinaryPrimitives.WriteUInt32BigEndian(span[at..], milliseconds);
            at += 4;
        }

        for (var offset = 0; offset < body.Length; offset += OutChunkSize)
        {
            if (offset > 0)
            {
                span[at++] = (byte)(0xC0 | chunkStream); // format 3: same header
                if (extended)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(span[at..], milliseconds);
                    at += 4;
                }
            }

            var piece = body.Slice(offset, Math.Min(OutChunkSize, body.Length - offset));
            piece.CopyTo(span[at..]);
            at += piece.Length;
        }

        return at;
    }

    private static void WriteInt24(Span<byte> destination, uint value)
    {
        destination[0] = (byte)(value >> 16);
        destination[1] = (byte)(value >> 8);
        destination[2] = (byte)value;
    }

    private static Dictionary<string, object?>? Info(List<object?> command) =>
        command.Skip(2).OfType<Dictionary<string, object?>>().FirstOrDefault();

    /// <summary>Describes a command's status object: its code and description (scrubbed by the caller).</summary>
    private static string Describe(List<object?> command)
    {
        var info = Info(command);
        var code = info?.GetValueOrDefault("code") as string;
        var description = info?.GetValueOrDefault("description") as string;
        return (code, description) switch
        {
            (null, null) => command[0] as string ?? "no status",
            (null, _) => description!,
            (_, null or "") => code,
            _ => $"{code}: {description}",
        };
    }

    private sealed class IncomingChunkStream
    {
        public int Length;
        public byte Type;
        public bool Extended;
        public byte[]? Payload;
        public int Filled;
    }
}

/// <summary>An RTMP publish that could not start; <see cref="Refused"/> when the server said no (retry slowly).</summary>
internal sealed class RtmpException(string message, bool refused) : Exception(message)
{
    public bool Refused { get; } = refused;
}
