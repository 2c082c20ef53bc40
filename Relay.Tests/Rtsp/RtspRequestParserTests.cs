using System.Buffers;
using System.Text;
using Relay.Server.Rtsp;

namespace Relay.Tests.Rtsp;

public sealed class RtspRequestParserTests
{
    [Fact]
    public void A_request_with_a_body_is_parsed_and_consumed()
    {
        var buffer = Sequence("SET_PARAMETER rtsp://h/cam1 RTSP/1.0\r\nCSeq: 7\r\nSession: ABC;timeout=60\r\nContent-Length: 4\r\n\r\nx: yOPTIONS");

        var result = RtspRequestParser.TryParse(ref buffer, 4096);

        Assert.Equal(RtspParseStatus.Request, result.Status);
        Assert.Equal("SET_PARAMETER", result.Request!.Method);
        Assert.Equal(7, result.Request.CSeq);
        Assert.Equal("ABC", result.Request.SessionId);
        Assert.Equal("x: y", Encoding.ASCII.GetString(result.Request.Body));
        Assert.Equal("OPTIONS", Encoding.ASCII.GetString(buffer.ToArray()));
    }

    [Fact]
    public void A_partial_request_waits_for_more()
    {
        var buffer = Sequence("OPTIONS rtsp://h/cam1 RTSP/1.0\r\nCSeq: 1\r\n");

        Assert.Equal(RtspParseStatus.Incomplete, RtspRequestParser.TryParse(ref buffer, 4096).Status);

        var body = Sequence("DESCRIBE rtsp://h/a RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 10\r\n\r\n12345");
        Assert.Equal(RtspParseStatus.Incomplete, RtspRequestParser.TryParse(ref body, 4096).Status);
    }

    [Fact]
    public void An_interleaved_frame_is_returned_with_its_channel()
    {
        var buffer = new ReadOnlySequence<byte>([(byte)'$', 3, 0, 2, 0xAB, 0xCD, (byte)'O']);

        var result = RtspRequestParser.TryParse(ref buffer, 4096);

        Assert.Equal(RtspParseStatus.Interleaved, result.Status);
        Assert.Equal(3, result.Channel);
        Assert.Equal(new byte[] { 0xAB, 0xCD }, result.Data);
        Assert.Equal(1, buffer.Length);
    }

    [Theory]
    [InlineData("\u0016\u0003\u0001 binary\r\n\r\n", 400)]
    [InlineData("OPTIONS\r\n\r\n", 400)]
    [InlineData("OPTIONS rtsp://h/ HTTP/1.1\r\nCSeq: 1\r\n\r\n", 400)]
    [InlineData("OPTIONS rtsp://h/ RTSP/1.0\r\nno colon here\r\n\r\n", 400)]
    [InlineData("OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\nX-Injected: yes\r\n\r\n", 400)] // a bare LF would be echoed with CSeq
    [InlineData("OPTIONS rtsp://h/ RTSP/1.0\r\nCSeq: 1\rX-Injected: yes\r\n\r\n", 400)]
    [InlineData("OPTIONS rtsp://h/ RTSP/1.0\r\nContent-Length: -5\r\n\r\n", 400)]
    [InlineData("OPTIONS rtsp://h/ RTSP/1.0\r\nContent-Length: 99999\r\n\r\n", 413)]
    public void Malformed_requests_are_errors_with_a_status(string text, int status)
    {
        var buffer = Sequence(text);

        var result = RtspRequestParser.TryParse(ref buffer, 4096);

        Assert.Equal(RtspParseStatus.Error, result.Status);
        Assert.Equal(status, result.ErrorStatus);
    }

    [Fact]
    public void A_header_section_over_the_limit_is_refused_before_it_ends()
    {
        var buffer = Sequence("DESCRIBE rtsp://h/cam1 RTSP/1.0\r\nX: " + new string('a', 5000));

        var result = RtspRequestParser.TryParse(ref buffer, 4096);

        Assert.Equal(RtspParseStatus.Error, result.Status);
        Assert.Equal(413, result.ErrorStatus);
    }

    [Fact]
    public void Transport_alternatives_are_parsed_in_order()
    {
        var transports = RtspTransport.ParseAll("RTP/AVP;multicast, RTP/AVP/TCP;unicast;interleaved=4-5, RTP/AVP;unicast;client_port=5000-5001;mode=\"PLAY\", RTP/AVP;client_port=x");

        Assert.Equal(3, transports.Count);
        Assert.True(transports[0].IsMulticast);
        Assert.True(transports[1].IsTcp);
        Assert.Equal((4, 5), transports[1].Interleaved);
        Assert.Equal((5000, 5001), transports[2].ClientPort);
        Assert.Equal("PLAY", transports[2].Mode);
    }

    [Theory]
    [InlineData("RTP/AVP/TCP;unicast;interleaved=255")] // no channel left for RTCP
    [InlineData("RTP/AVP/TCP;unicast;interleaved=4-4")] // RTP and RTCP on one channel
    [InlineData("RTP/AVP/TCP;unicast;interleaved=4-256")]
    [InlineData("RTP/AVP;unicast;client_port=5000-0")] // RTCP to port 0
    [InlineData("RTP/AVP;unicast;client_port=0-1")]
    [InlineData("RTP/AVP;unicast;client_port=65535")] // RTCP would be 65536
    [InlineData("RTP/AVP;unicast;client_port=5000-5000")]
    public void Transports_without_two_distinct_valid_channels_or_ports_are_refused(string header) =>
        Assert.Empty(RtspTransport.ParseAll(header));

    [Fact]
    public void One_channel_or_port_means_the_next_one_for_rtcp()
    {
        var transports = RtspTransport.ParseAll("RTP/AVP/TCP;unicast;interleaved=254, RTP/AVP;unicast;client_port=5000");

        Assert.Equal((254, 255), transports[0].Interleaved);
        Assert.Equal((5000, 5001), transports[1].ClientPort);
    }

    private static ReadOnlySequence<byte> Sequence(string text) => new(Encoding.Latin1.GetBytes(text));
}
