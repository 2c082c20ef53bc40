using System.Text;

namespace Relay.Tests.Fixtures;

/// <summary>
/// Makes hostile RTSP traffic from a seeded <see cref="Random"/> (so a failure can be replayed): real requests
/// mutated (bytes flipped, inserted, cut), random bytes, interleaved frames whose lengths lie, header floods,
/// oversized values, lying Content-Lengths, bare line feeds, and fuzzed Transport, Session and Authorization headers.
/// </summary>
public sealed class HostileRtsp(Random random, string url, string authorization)
{
    private static readonly string[] Methods = ["OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER", "ANNOUNCE", "RECORD", "REDIRECT", "GET", "POST", "FOO"];
    private static readonly string[] Specials = ["\0", "\n", "\r", "\r\n", ":", ";", ",", "=", "\"", "$", "\u00ff", "%", "%00", "/..", "\t", " ", "-", "\\"];

    /// <summary>Makes one hostile message; returns its bytes.</summary>
    public byte[] Next()
    {
        return random.Next(12) switch
        {
            0 => RandomBytes(random.Next(1, 2048)),
            1 => Interleaved(),
            2 => Encoding.UTF8.GetBytes(HeaderFlood()),
            3 => Encoding.UTF8.GetBytes(Request(Pick(Methods), url, Header("X-Big", new string('A', random.Next(1000, 40_000))))),
            4 => Encoding.UTF8.GetBytes(Request("SETUP", $"{url}/trackID={random.Next(-2, 300)}", Header("Transport", Transport()))),
            5 => Encoding.UTF8.GetBytes(Request(Pick(["PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER"]), url, Header("Session", SessionId()))),
            6 => Encoding.UTF8.GetBytes(Request("DESCRIBE", url, replaceAuthorization: FuzzedAuthorization())),
            7 => LyingBody(),
            8 => Encoding.UTF8.GetBytes(Request(Pick(Methods), url).Replace("\r\n", "\n", StringComparison.Ordinal)),
            _ => Mutate(Encoding.UTF8.GetBytes(Request(Pick(Methods), random.Next(4) == 0 ? RandomUri() : url, Header("Transport", Transport())))),
        };
    }

    private string Request(string method, string uri, string extra = "", string? replaceAuthorization = null)
    {
        var cseq = random.Next(10) == 0 ? Pick(["-1", "99999999999999", "abc", ""]) : random.Next(1, 1000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var auth = replaceAuthorization ?? (random.Next(4) == 0 ? string.Empty : authorization);
        return $"{method} {uri} RTSP/1.0\r\nCSeq: {cseq}\r\n{(auth.Length > 0 ? $"Authorization: {auth}\r\n" : string.Empty)}{extra}\r\n";
    }

    private static string Header(string name, string value) => $"{name}: {value}\r\n";

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    private byte[] Interleaved()
    {
        // '$', channel, a 16-bit length that may lie, then fewer, as many or more bytes, possibly a request after.
        var claimed = random.Next(3) == 0 ? 0xFFFF : random.Next(0, 3000);
        var actual = random.Next(3) switch { 0 => claimed, 1 => random.Next(0, claimed + 1), _ => claimed + random.Next(1, 100) };
        var frame = new byte[4 + actual];
        frame[0] = (byte)'$';
        frame[1] = (byte)random.Next(256);
        frame[2] = (byte)(claimed >> 8);
        frame[3] = (byte)claimed;
        random.NextBytes(frame.AsSpan(4));
        return random.Next(2) == 0 ? frame : [.. frame, .. Encoding.ASCII.GetBytes(Request("OPTIONS", url))];
    }

    private string HeaderFlood()
    {
        var headers = new StringBuilder();
        var count = random.Next(100, 3000);
        for (var i = 0; i < count; i++)
        {
            headers.Append(random.Next(5) == 0 ? "CSeq" : "X-H" + i).Append(": ").Append(random.Next()).Append("\r\n");
        }

        return Request(Pick(Methods), url, headers.ToString());
    }

    private string Transport()
    {
        var parts = new List<string> { Pick(["RTP/AVP", "RTP/AVP/TCP", "RTP/AVP/UDP", "RTP/SAVP", "", "RTP", "RTP/AVP/TCP/X"]) };
        var count = random.Next(0, 8);
        for (var i = 0; i < count; i++)
        {
            parts.Add(random.Next(9) switch
            {
                0 => Pick(["unicast", "multicast", ""]),
                1 => $"interleaved={Number()}-{Number()}",
                2 => $"interleaved={Number()}",
                3 => $"client_port={Number()}-{Number()}",
                4 => $"client_port={Number()}",
                5 => $"mode={Pick(["PLAY", "\"PLAY\"", "record", "RECORD", "x"])}",
                6 => $"ssrc={Number():X}",
                7 => $"destination={Pick(["127.0.0.1", "10.0.0.1", "::1", "x"])}",
                _ => Pick(Specials),
            });
        }

        var transport = string.Join(';', parts);
        return random.Next(4) == 0 ? transport + "," + Transport() : transport;
    }

    private string SessionId() => random.Next(5) switch
    {
        0 => string.Empty,
        1 => ";timeout=60",
        2 => new string('F', random.Next(1, 500)),
        3 => Convert.ToHexString(RandomBytes(8)),
        _ => Pick(Specials) + random.Next(),
    };

    private string FuzzedAuthorization()
    {
        var parameters = new[] { "username", "realm", "nonce", "uri", "response", "algorithm", "qop", "nc", "cnonce", "opaque" };
        return random.Next(5) switch
        {
            0 => "Basic " + Convert.ToBase64String(RandomBytes(random.Next(0, 200))),
            1 => "Basic " + Pick(["", "!!!", "=", "dXNlcg==", new string('A', 10_000)]),
            2 => "Digest " + string.Join(", ", Enumerable.Range(0, random.Next(0, 12)).Select(_ => $"{Pick(parameters)}={(random.Next(2) == 0 ? "\"" : string.Empty)}{Pick(Specials)}{random.Next()}")),
            3 => "Bearer " + Pick(["", "relay_", new string('x', 5000), "\u00e9\u00e8"]),
            _ => Pick(["Digest", "Digest username=\"", "Negotiate abc", "", " ", "Basic"]),
        };
    }

    private byte[] LyingBody()
    {
        var length = Pick(["99999999", "-1", "abc", "100", "0", "18446744073709551616", " 5"]);
        var text = Request("SET_PARAMETER", url, Header("Content-Length", length) + Header("Content-Type", "text/parameters"));
        return Encoding.UTF8.GetBytes(text + new string('p', random.Next(0, 300)));
    }

    private string RandomUri() => Pick(["", "*", "/", "rtsp://", "rtsp://127.0.0.1:1/../../etc/passwd", "rtsp://[::1", "rtsp://h/%", "rtsp://h/" + new string('a', 5000), "http://x/y", "/demo?x=%00"]);

    private byte[] Mutate(byte[] bytes)
    {
        var list = new List<byte>(bytes);
        var edits = random.Next(1, 6);
        for (var i = 0; i < edits && list.Count > 0; i++)
        {
            var at = random.Next(list.Count);
            switch (random.Next(4))
            {
                case 0:
                    list[at] = (byte)random.Next(256);
                    break;
                case 1:
                    list.InsertRange(at, Encoding.UTF8.GetBytes(Pick(Specials)));
                    break;
                case 2:
                    list.RemoveRange(at, Math.Min(random.Next(1, 20), list.Count - at));
                    break;
                default:
                    list.RemoveRange(at, list.Count - at); // truncated
                    break;
            }
        }

        return [.. list];
    }

    private int Number() => random.Next(4) switch { 0 => random.Next(-5, 5), 1 => random.Next(250, 260), 2 => random.Next(65530, 65540), _ => random.Next() };

    private string Pick(string[] options) => options[random.Next(options.Length)];
}
