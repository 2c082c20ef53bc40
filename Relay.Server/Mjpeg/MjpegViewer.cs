using System.Net;
using System.Threading.Channels;

namespace Relay.Server.Mjpeg;

/// <summary>
/// One MJPEG viewer's queue: at most one picture waits. A viewer that reads slower than pictures come skips to the
/// newest (counted), so it never holds the feed or other viewers back and never makes memory grow.
/// </summary>
internal sealed class MjpegViewer
{
    private readonly Channel<byte[]> _pictures;
    private long _skipped;
    private long _bytes;

    public MjpegViewer(IPAddress? address, DateTimeOffset since)
    {
        Address = address;
        Since = since;
        _pictures = Channel.CreateBounded<byte[]>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true, SingleWriter = false },
            _ => Interlocked.Increment(ref _skipped));
    }

    /// <summary>Gets the viewer's address.</summary>
    public IPAddress? Address { get; }

    /// <summary>Gets when it started watching.</summary>
    public DateTimeOffset Since { get; }

    /// <summary>Gets the pictures skipped because the viewer was slow.</summary>
    public long Skipped => Interlocked.Read(ref _skipped);

    /// <summary>Gets the bytes sent to it.</summary>
    public long BytesSent => Interlocked.Read(ref _bytes);

    /// <summary>Offers a picture; replaces one still waiting. Never blocks.</summary>
    public void Offer(byte[] picture) => _pictures.Writer.TryWrite(picture);

    /// <summary>Waits for the next picture; null when the feed ended.</summary>
    public async ValueTask<byte[]?> NextAsync(CancellationToken cancellationToken)
    {
        while (await _pictures.Reader.WaitToReadAsync(cancellationToken))
        {
            if (_pictures.Reader.TryRead(out var picture))
            {
                return picture;
            }
        }

        return null;
    }

    /// <summary>Counts bytes sent.</summary>
    public void CountSent(long bytes) => Interlocked.Add(ref _bytes, bytes);

    /// <summary>Ends the viewer's queue (the feed stopped).</summary>
    public void Complete() => _pictures.Writer.TryComplete();
}
