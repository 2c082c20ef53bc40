using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Relay.Tests.Fixtures;

/// <summary>
/// Watches an MJPEG URL over HTTP (multipart/x-mixed-replace) like a browser's &lt;img&gt; does, recording when each
/// picture arrived. Stops on dispose.
/// </summary>
public sealed class MjpegViewerClient : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly ConcurrentQueue<(DateTime At, byte[] Picture)> _pictures = new();
    private readonly Task _reading;

    private MjpegViewerClient(Uri url)
    {
        _reading = Task.Run(() => ReadAsync(url));
    }

    /// <summary>Gets the pictures received, with when they arrived.</summary>
    public IReadOnlyCollection<(DateTime At, byte[] Picture)> Pictures => _pictures;

    /// <summary>Gets the content type the relay answered with.</summary>
    public string? ContentType { get; private set; }

    /// <summary>Gets what ended the reading early, if anything did.</summary>
    public Exception? Failure { get; private set; }

    public static MjpegViewerClient Start(Uri url) => new(url);

    /// <summary>Counts the pictures that arrived between two times.</summary>
    public int CountBetween(DateTime from, DateTime to) => _pictures.Count(p => p.At >= from && p.At < to);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _reading;
        }
        catch (OperationCanceledException)
        {
        }

        _http.Dispose();
        _stop.Dispose();
    }

    private async Task ReadAsync(Uri url)
    {
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, _stop.Token);
            response.EnsureSuccessStatusCode();
            ContentType = response.Content.Headers.ContentType?.ToString();
            var body = await response.Content.ReadAsStreamAsync(_stop.Token);
            while (!_stop.IsCancellationRequested)
            {
                // Part headers up to the blank line, then Content-Length bytes of JPEG, then CRLF.
                var length = -1;
                string line;
                do
                {
                    line = await ReadLineAsync(body);
                    if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                    {
                        length = int.Parse(line[15..].Trim(), CultureInfo.InvariantCulture);
                    }
                }
                while (line.Length > 0 || length < 0);

                var picture = new byte[length];
                await body.ReadExactlyAsync(picture, _stop.Token);
                _pictures.Enqueue((DateTime.UtcNow, picture));
                await ReadLineAsync(body);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Failure = e;
        }
    }

    private async Task<string> ReadLineAsync(System.IO.Stream body)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await body.ReadExactlyAsync(one, _stop.Token);
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }
}
