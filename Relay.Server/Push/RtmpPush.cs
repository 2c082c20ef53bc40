using System.Net.Sockets;
using Relay.Media;

namespace Relay.Server.Push;

/// <summary>
/// An RTMP or RTMPS push without transcoding, done by Relay itself: <see cref="FlvWriter"/> turns each access unit into
/// an FLV body and <see cref="RtmpPublisher"/> sends it from the pusher's own thread, one socket write per unit, so a
/// push costs no GStreamer thread, no muxer and no parser.
/// </summary>
internal sealed class RtmpPush : IPushOutput
{
    private readonly FlvWriter _flv;
    private readonly HashSet<int> _tracks;
    private readonly Action<string> _onError;
    private RtmpPublisher? _publisher;
    private byte[] _body = new byte[64 * 1024];
    private TimeSpan? _origin;
    private int _failed;

    private RtmpPush(FlvWriter flv, Action<string> onError)
    {
        _flv = flv;
        _tracks = [.. flv.Tracks];
        _onError = onError;
    }

    /// <inheritdoc />
    public IReadOnlySet<int> Tracks => _tracks;

    /// <inheritdoc />
    public long QueuedBytes => 0; // a write that the server does not take holds the pusher; its reader queue then skips frames

    /// <summary>Connects, starts publishing and sends the metadata and decoder configurations.</summary>
    /// <param name="onError">Called once when the push fails after it started.</param>
    /// <exception cref="RtmpException">The publish could not start.</exception>
    public static async Task<RtmpPush> StartAsync(FlvWriter flv, Uri url, TimeSpan timeout, Action<string> onError, CancellationToken cancellationToken)
    {
        var push = new RtmpPush(flv, onError);
        push._publisher = await RtmpPublisher.ConnectAsync(url, timeout, push.Fail, cancellationToken);
        try
        {
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
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            await push.DisposeAsync();
            throw new RtmpException("the server closed the connection when the stream started", refused: false);
        }

        return push;
    }

    /// <inheritdoc />
    public async ValueTask<bool> PushAsync(AccessUnit unit, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _failed) != 0)
        {
            return false;
        }

        if (!_tracks.Contains(unit.TrackIndex))
        {
            return true;
        }

        var origin = _origin ??= unit.Dts;
        if (unit.Dts < origin)
        {
            return true; // audio captured just before the first keyframe: it would be before the stream's start
        }

        var size = _flv.BodySize(unit);
        if (_body.Length < size)
        {
            _body = new byte[size + (size / 4)];
        }

        var type = _flv.Write(unit, _body);
        try
        {
            await _publisher!.SendAsync(type, (uint)(long)(unit.Dts - origin).TotalMilliseconds, _body.AsMemory(0, size), cancellationToken);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Fail("the connection to the server broke");
            return false;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _failed, 1);
        if (_publisher is not null)
        {
            await _publisher.DisposeAsync();
        }
    }

    private void Fail(string message)
    {
        if (Interlocked.Exchange(ref _failed, 1) == 0)
        {
            _onError(message);
        }
    }
}
