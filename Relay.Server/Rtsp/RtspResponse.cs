using System.Buffers;
using System.Globalization;
using System.Text;

namespace Relay.Server.Rtsp;

/// <summary>An RTSP response being built.</summary>
internal sealed class RtspResponse(int status)
{
    private readonly List<KeyValuePair<string, string>> _headers = [];

    public int Status { get; } = status;

    public string? ContentType { get; private set; }

    public byte[]? Body { get; private set; }

    /// <summary>Gets a value indicating whether the connection is closed after this response.</summary>
    public bool CloseConnection { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers => _headers;

    public RtspResponse Header(string name, string value)
    {
        _headers.Add(new(name, value));
        return this;
    }

    public RtspResponse Content(string contentType, string body)
    {
        ContentType = contentType;
        Body = Encoding.UTF8.GetBytes(body);
        return this;
    }

    /// <summary>Serialises the response, echoing <paramref name="cseq"/>.</summary>
    public void WriteTo(IBufferWriter<byte> writer, int? cseq)
    {
        var sb = new StringBuilder(256);
        sb.Append(CultureInfo.InvariantCulture, $"RTSP/1.0 {Status} {RtspStatus.Reason(Status)}\r\n");
        if (cseq is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"CSeq: {cseq}\r\n");
        }

        sb.Append("Server: Relay\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"Date: {DateTime.UtcNow:R}\r\n");
        foreach (var (name, value) in _headers)
        {
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (CloseConnection)
        {
            sb.Append("Connection: close\r\n");
        }

        if (Body is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"Content-Type: {ContentType}\r\nContent-Length: {Body.Length}\r\n");
        }

        sb.Append("\r\n");
        var head = Encoding.ASCII.GetBytes(sb.ToString());
        writer.Write(head);
        if (Body is not null)
        {
            writer.Write(Body);
        }
    }
}
