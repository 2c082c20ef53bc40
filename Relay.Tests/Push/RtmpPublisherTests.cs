using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Relay.Server.Push;
using Relay.Tests.Fixtures;

namespace Relay.Tests.Push;

/// <summary>Relay's own RTMP publisher: URL splitting, AMF0, chunk framing, and clear errors from servers that are not RTMP.</summary>
public sealed class RtmpPublisherTests
{
    [Theory]
    [InlineData("rtmp://h/live/key", "live", "key")]
    [InlineData("rtmp://h:1936/app/inst/key?token=a%20b", "app/inst", "key?token=a%20b")]
    [InlineData("rtmps://h/live2/a%2Fb", "live2", "a/b")]
    public void A_url_splits_into_the_application_and_the_stream_key(string url, string app, string stream)
    {
        Assert.Equal((app, stream), RtmpPublisher.Split(new Uri(url)));
    }

    [Theory]
    [InlineData("rtmp://h/key")]
    [InlineData("rtmp://h/live/")]
    [InlineData("rtmp://h/")]
    public void A_url_without_application_or_key_is_refused_with_a_clear_error(string url)
    {
        var e = Assert.Throws<RtmpException>(() => RtmpPublisher.Split(new Uri(url)));
        Assert.Contains("application and a stream key", e.Message);
        Assert.True(e.Refused);
    }

    [Fact]
    public void Amf0_values_read_back_as_written()
    {
        var bytes = new Amf0.Writer()
            .String("connect").Number(1.5).Null().Boolean(true)
            .Object([("app", "live"), ("n", 7), ("ok", false)])
            .EcmaArray([("width", 1280.0), ("encoder", "Relay")])
            .ToArray();

        var values = Amf0.ReadAll(bytes);

        Assert.Equal(6, values.Count);
        Assert.Equal("connect", values[0]);
        Assert.Equal(1.5, values[1]);
        Assert.Null(values[2]);
        Assert.Equal(true, values[3]);
        var obj = Assert.IsType<Dictionary<string, object?>>(values[4]);
        Assert.Equal(new Dictionary<string, object?> { ["app"] = "live", ["n"] = 7.0, ["ok"] = false }, obj);
        var array = Assert.IsType<Dictionary<string, object?>>(values[5]);
        Assert.Equal(new Dictionary<string, object?> { ["width"] = 1280.0, ["encoder"] = "Relay" }, array);
    }

    [Theory]
    [InlineData("00 3F F0")] // a number cut short
    [InlineData("02 00 05 61 62")] // a string longer than the data
    [InlineData("03 00 01 61 02 00")] // an object without its end
    [InlineData("0A FF FF FF FF")] // a strict array claiming more items than bytes
    [InlineData("0D")] // unsupported
    public void Broken_amf0_is_a_format_error(string hex)
    {
        Assert.Throws<FormatException>(() => Amf0.ReadAll(Convert.FromHexString(hex.Replace(" ", ""))));
    }

    [Fact]
    public void Nesting_too_deep_is_a_format_error_not_a_stack_overflow()
    {
        var bytes = new List<byte>();
        for (var i = 0; i < 10_000; i++)
        {
            bytes.AddRange([0x0A, 0, 0, 0, 1]); // a strict array of one strict array of...
        }

        bytes.Add(0x05);
        Assert.Throws<FormatException>(() => Amf0.ReadAll(bytes.ToArray()));
    }

    [Fact]
    public void A_large_message_is_chunked_with_type_3_headers_and_an_extended_time_in_every_chunk()
    {
        var body = Enumerable.Range(0, 9000).Select(i => (byte)i).ToArray();
        var buffer = new byte[16];
        const uint time = 0x01000000; // past the 24-bit field: extended

        var size = RtmpPublisher.Frame(ref buffer, 6, 9, time, 1, body);

        var framed = buffer.AsSpan(0, size);
        Assert.Equal(6, framed[0]); // format 0, chunk stream 6
        Assert.Equal([0xFF, 0xFF, 0xFF], framed[1..4].ToArray());
        Assert.Equal(9000, (framed[4] << 16) | (framed[5] << 8) | framed[6]);
        Assert.Equal(9, framed[7]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(framed[8..]));
        Assert.Equal(time, BinaryPrimitives.ReadUInt32BigEndian(framed[12..]));
        var payload = new List<byte>(framed.Slice(16, 4096).ToArray());
        var at = 16 + 4096;
        for (var chunk = 1; chunk < 3; chunk++)
        {
            Assert.Equal(0xC6, framed[at]); // format 3, chunk stream 6
            Assert.Equal(time, BinaryPrimitives.ReadUInt32BigEndian(framed[(at + 1)..]));
            var length = Math.Min(4096, 9000 - payload.Count);
            payload.AddRange(framed.Slice(at + 5, length).ToArray());
            at += 5 + length;
        }

        Assert.Equal(size, at);
        Assert.Equal(body, payload);
    }

    [Fact]
    public async Task A_server_that_is_not_rtmp_gives_a_clear_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            await stream.ReadExactlyAsync(new byte[1537]);
            var answer = Encoding.ASCII.GetBytes("HTTP/1.1 400 Bad Request\r\nContent-Length: 2000\r\n\r\n" + new string('x', 2000));
            await stream.WriteAsync(answer);
            await stream.FlushAsync();
        });
        var url = new Uri($"rtmp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/live/secret-key");

        var e = await Assert.ThrowsAsync<RtmpException>(() =>
            RtmpPublisher.ConnectAsync(url, TimeSpan.FromSeconds(30), (_, _) => { }, CancellationToken.None));

        Assert.Contains("not an RTMP server", e.Message);
        Assert.False(e.Refused);
        Assert.DoesNotContain("secret-key", e.Message);
        await server.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_server_that_closes_during_the_handshake_gives_a_clear_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var server = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            await client.GetStream().ReadExactlyAsync(new byte[1537]);
        });
        var url = new Uri($"rtmp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/live/key");

        var e = await Assert.ThrowsAsync<RtmpException>(() =>
            RtmpPublisher.ConnectAsync(url, TimeSpan.FromSeconds(30), (_, _) => { }, CancellationToken.None));

        Assert.Equal("the server closed the connection in the RTMP handshake", e.Message);
        await server.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_server_that_never_answers_times_out_with_a_clear_error()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start(); // accepts in the kernel's backlog, never reads or answers
        var url = new Uri($"rtmp://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/live/key");

        var e = await Assert.ThrowsAsync<RtmpException>(() =>
            RtmpPublisher.ConnectAsync(url, TimeSpan.FromSeconds(2), (_, _) => { }, CancellationToken.None));

        Assert.Matches("^no answer (in the RTMP handshake|connecting) within 2 s$", e.Message); // connecting only on a starved machine
    }

    [Fact]
    public async Task Rtmps_publishes_through_a_real_tls_front_and_an_untrusted_certificate_is_a_clear_error()
    {
        await using var server = await NginxRtmp.StartAsync(tls: true);
        var url = server.TlsUrl("tls-key");

        await using (await RtmpPublisher.ConnectAsync(url, TimeSpan.FromSeconds(30), (_, _) => { }, CancellationToken.None, [server.Certificate!]))
        {
            // Returned: TLS, the RTMP handshake, connect and publish all went through nginx (NetStream.Publish.Start).
        }

        var e = await Assert.ThrowsAsync<RtmpException>(() =>
            RtmpPublisher.ConnectAsync(url, TimeSpan.FromSeconds(30), (_, _) => { }, CancellationToken.None));
        Assert.StartsWith("the TLS handshake failed", e.Message);
        Assert.False(e.Refused);
        Assert.DoesNotContain("tls-key", e.Message);
    }
}
