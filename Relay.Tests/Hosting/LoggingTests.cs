using System.Text.Json;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>Logs for log collectors: JSON lines with event ids and the stream as a scope.</summary>
public sealed class LoggingTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_json_console_format_writes_one_json_object_per_line_with_event_ids_and_the_stream_scope()
    {
        var lines = new List<string>();
        await using (var relay = await RelayProcess.StartAsync(new LineCollector(output, lines), "--Logging:Console:FormatterName=json", "--Relay:Streams:demo:Source=test:size=320x240&bitrate=300"))
        {
            await Fixtures.Clients.ProbeAsync(relay.RtspUrl("demo"), "tcp");
            relay.Terminate();
            await relay.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        List<JsonElement> events;
        lock (lines)
        {
            events = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        }

        Assert.NotEmpty(events);
        Assert.All(events, e => Assert.True(e.TryGetProperty("EventId", out _)));
        var online = Assert.Single(events, e => e.GetProperty("EventId").GetInt32() == 101); // SourceOnline
        Assert.Contains(online.GetProperty("Scopes").EnumerateArray(), s => s.TryGetProperty("Stream", out var name) && name.GetString() == "demo");
    }

    private sealed class LineCollector(ITestOutputHelper inner, List<string> lines) : ITestOutputHelper
    {
        public void WriteLine(string message)
        {
            lock (lines)
            {
                lines.Add(message);
            }

            inner.WriteLine(message);
        }

        public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));
    }
}
