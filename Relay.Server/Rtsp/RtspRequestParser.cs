using System.Buffers;
using System.Globalization;
using System.Text;

namespace Relay.Server.Rtsp;

/// <summary>What the parser found at the start of the buffer.</summary>
internal enum RtspParseStatus
{
    /// <summary>Not enough bytes yet.</summary>
    Incomplete,

    /// <summary>A whole request was parsed and consumed.</summary>
    Request,

    /// <summary>A whole interleaved binary frame (RFC 2326 §10.12) was consumed.</summary>
    Interleaved,

    /// <summary>The bytes are not a valid request; <see cref="RtspParseResult.ErrorStatus"/> says how to answer.</summary>
    Error,
}

/// <summary>The outcome of one parse step.</summary>
internal readonly record struct RtspParseResult(
    RtspParseStatus Status,
    RtspRequest? Request = null,
    int Channel = 0,
    byte[]? Data = null,
    int ErrorStatus = 0,
    string? Error = null);

/// <summary>
/// Parses RTSP requests and interleaved frames from a connection's input (System.IO.Pipelines buffers). Limits:
/// the request line and headers together, and the body, are each at most <c>maxBytes</c>; at most 64 headers.
/// </summary>
internal static class RtspRequestParser
{
    private const int MaxHeaders = 64;
    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    /// <summary>Parses one message from the start of <paramref name="buffer"/>.</summary>
    /// <param name="buffer">The unread input; on success, advanced past the message.</param>
    /// <param name="maxBytes">The request size limit.</param>
    public static RtspParseResult TryParse(ref ReadOnlySequence<byte> buffer, int maxBytes)
    {
        if (buffer.IsEmpty)
        {
            return new(RtspParseStatus.Incomplete);
        }

        var reader = new SequenceReader<byte>(buffer);
        reader.TryPeek(out var first);
        if (first == (byte)'$')
        {
            return TryParseInterleaved(ref buffer);
        }

        if (!IsTokenChar(first))
        {
            return Error(RtspStatus.BadRequest, "the request does not start with a method");
        }

        if (!reader.TryReadTo(out ReadOnlySequence<byte> head, HeaderEnd, advancePastDelimiter: true))
        {
            return buffer.Length > maxBytes
                ? Error(RtspStatus.RequestEntityTooLarge, $"the request header is larger than {maxBytes} bytes")
                : new(RtspParseStatus.Incomplete);
        }

        if (head.Length > maxBytes)
        {
            return Error(RtspStatus.RequestEntityTooLarge, $"the request header is larger than {maxBytes} bytes");
        }

        var text = Encoding.UTF8.GetString(head);
        var lines = text.Split("\r\n");
        if (lines.Any(l => l.Contains('\r', StringComparison.Ordinal) || l.Contains('\n', StringComparison.Ordinal)))
        {
            // A bare CR or LF inside a line would otherwise travel on in a header value (CSeq is echoed).
            return Error(RtspStatus.BadRequest, "a bare CR or LF inside a line");
        }

        var requestLine = lines[0].Split(' ');
        if (requestLine.Length != 3 || requestLine[0].Length == 0 || requestLine[1].Length == 0 || !requestLine[0].All(c => c < 128 && IsTokenChar((byte)c)))
        {
            return Error(RtspStatus.BadRequest, "malformed request line");
        }

        if (!requestLine[2].StartsWith("RTSP/", StringComparison.Ordinal))
        {
            return Error(RtspStatus.BadRequest, "not an RTSP request");
        }

        var headers = new List<KeyValuePair<string, string>>();
        for (var i = 1; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] is ' ' or '\t')
            {
                // Obsolete line folding continues the previous header.
                if (headers.Count == 0)
                {
                    return Error(RtspStatus.BadRequest, "header continuation without a header");
                }

                var previous = headers[^1];
                headers[^1] = new(previous.Key, previous.Value + " " + line.Trim());
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || line[..colon].Any(c => c is ' ' or '\t'))
            {
                return Error(RtspStatus.BadRequest, "malformed header line");
            }

            if (headers.Count == MaxHeaders)
            {
                return Error(RtspStatus.BadRequest, $"more than {MaxHeaders} headers");
            }

            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var body = Array.Empty<byte>();
        var contentLength = headers.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        if (contentLength is not null)
        {
            if (!int.TryParse(contentLength, NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return Error(RtspStatus.BadRequest, "bad Content-Length");
            }

            if (length > maxBytes)
            {
                return Error(RtspStatus.RequestEntityTooLarge, $"the body is larger than {maxBytes} bytes");
            }

            if (reader.Remaining < length)
            {
                return new(RtspParseStatus.Incomplete);
            }

            body = reader.UnreadSequence.Slice(0, length).ToArray();
            reader.Advance(length);
        }

        buffer = buffer.Slice(reader.Position);
        return new(RtspParseStatus.Request, new RtspRequest(requestLine[0], requestLine[1], requestLine[2], headers, body));
    }

    private static RtspParseResult TryParseInterleaved(ref ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < 4)
        {
            return new(RtspParseStatus.Incomplete);
        }

        Span<byte> header = stackalloc byte[4];
        buffer.Slice(0, 4).CopyTo(header);
        var length = (header[2] << 8) | header[3];
        if (buffer.Length < 4 + length)
        {
            return new(RtspParseStatus.Incomplete);
        }

        var data = buffer.Slice(4, length).ToArray();
        buffer = buffer.Slice(4 + length);
        return new(RtspParseStatus.Interleaved, Channel: header[1], Data: data);
    }

    private static RtspParseResult Error(int status, string message) => new(RtspParseStatus.Error, ErrorStatus: status, Error: message);

    private static bool IsTokenChar(byte c) => c is (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'_' or (byte)'-' or (byte)'.';
}
