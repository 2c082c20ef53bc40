using System.Net.Sockets;
using Relay.Media;
using Relay.Server.GStreamer;

namespace Relay.Server.Push;

/// <summary>
/// An RTMP or RTMPS push, done by Relay itself: <see cref="FlvWriter"/> turns each access unit into an FLV body and
/// <see cref="RtmpPublisher"/> sends it from the pusher's own thread, one socket write per unit, so a push costs no
/// GStreamer thread, no muxer and no parser. G.711 or Opus audio goes through an <see cref="AacTranscoder"/> first;
/// its AAC frames are sent before each video frame.
/// </summary>
internal sealed class RtmpPush : IPushOutput
{
    private readonly FlvWriter _flv;
    private readonly HashSet<int> _tracks;
    private readonly Action<string, bool> _onError;
    private Stop? _failure; // set once: why the push stopped taking media
    private RtmpPublisher? _publisher;
    private AacTranscoder? _transcoder;
    private byte[] _body = new byte[64 * 1024];
    private TimeSpan? _origin;

    private RtmpPush(FlvWriter flv, Action<string, bool> onError)
    {
        _flv = flv;
        _tracks = [.. flv.Tracks];
        _onError = onError;
    }

    /// <inheritdoc />
    public IReadOnlySet<int> Tracks => _tracks;

    /// <inheritdoc />
    public (string Message, bool Refused)? Failure => Volatile.Read(ref _failure) is { } f ? (f.Message, f.Refused) : null;

    /// <inheritdoc />
    public long QueuedBytes => 0; // a write that the server does not take holds the pusher; its reader queue then skips frames

    /// <summary>Connects, starts publishing and sends the metadata and decoder configurations.</summary>
    /// <param name="transcode">The audio track to transcode to AAC, or null.</param>
    /// <param name="onError">Called once when the push fails: the scrubbed message, and whether the server refused the publish.</param>
    /// <exception cref="RtmpException">The publish could not start.</exception>
    /// <exception cref="GstException">The transcoder cannot start.</exception>
    public static async Task<RtmpPush> StartAsync(FlvWriter flv, TrackInfo? transcode, Uri url, TimeSpan timeout, Action<string, bool> onError, CancellationToken cancellationToken)
    {
        var push = new RtmpPush(flv, onError);
        push._publisher = await RtmpPublisher.ConnectAsync(url, timeout, push.Fail, cancellationToken);
        try
        {
            if (transcode is not null)
            {
                push._transcoder = AacTranscoder.Start(transcode, message => push.Fail(message, refused: false));
            }

            foreach (var (type, body) in flv.Headers())
            {
                if (type == FlvWriter.ScriptType)
                {
                    await push._publisher.SendMetadataAsync(body, cancellationToken);
                }
                else
                {
                    await push._publisher.SendAsync(type, 0, body, cancellationToken);
                }
            }
        }
        catch (Exception e)
        {
            // The publisher said why (push.Fail) before the write threw, if it was the connection.
            var failure = push._failure;
            await push.DisposeAsync();
            if (e is IOException or SocketException or ObjectDisposedException)
            {
                failure ??= new Stop("the server closed the connection when the stream started", false);
                throw new RtmpException(failure.Message, failure.Refused);
            }

            throw;
        }

        return push;
    }

    /// <inheritdoc />
    public async ValueTask<bool> PushAsync(AccessUnit unit, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _failure) is not null)
        {
            return false;
        }

        if (!_tracks.Contains(unit.TrackIndex))
        {
            return true;
        }

        if (_transcoder is not null && unit.TrackIndex == _transcoder.Track)
        {
            return _transcoder.Push(unit); // its AAC comes back and goes out with the next video frame
        }

        var origin = _origin ??= unit.Dts;
        try
        {
            while (_transcoder is not null && _transcoder.TryTake(out var aac))
            {
                try
                {
                    await SendAsync(aac, origin, cancellationToken);
                }
                finally
                {
                    aac.Release();
                }
            }

            await SendAsync(unit, origin, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Fail("the connection to the server broke", refused: false); // the publisher has said why already
            return false;
        }
    }

    private async ValueTask SendAsync(AccessUnit unit, TimeSpan origin, CancellationToken cancellationToken)
    {
        if (unit.Dts < origin)
        {
            return; // audio captured just before the first keyframe: it would be before the stream's start
        }

        var size = _flv.BodySize(unit);
        if (_body.Length < size)
        {
            _body = new byte[size + (size / 4)];
        }

        var type = _flv.Write(unit, _body);
        await _publisher!.SendAsync(type, (uint)(long)(unit.Dts - origin).TotalMilliseconds, _body.AsMemory(0, size), cancellationToken);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Interlocked.CompareExchange(ref _failure, new Stop("stopped", false), null);
        _transcoder?.Dispose();
        if (_publisher is not null)
        {
            await _publisher.DisposeAsync();
        }
    }

    private void Fail(string message, bool refused)
    {
        if (Interlocked.CompareExchange(ref _failure, new Stop(message, refused), null) is null)
        {
            _onError(message, refused);
        }
    }

    private sealed record Stop(string Message, bool Refused);
}
