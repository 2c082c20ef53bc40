using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Server.Configuration;

namespace Relay.Tests.Configuration;

public sealed class RelayConfigLoaderTests
{
    [Fact]
    public void A_valid_configuration_is_read_with_defaults()
    {
        var (config, errors) = Load(new()
        {
            ["Relay:Streams:cam1:Source"] = "rtsp://admin:pw@10.0.0.5/stream1",
            ["Relay:Streams:cam1:Transport"] = "UDP",
            ["Relay:Streams:cam1:StallTimeout"] = "2s",
            ["Relay:Streams:demo:Source"] = "test:size=320x240",
            ["Relay:Rtsp:Port"] = "9554",
        });

        Assert.Empty(errors);
        Assert.NotNull(config);
        Assert.Equal(9554, config.Rtsp.Port);
        Assert.Equal(8000, config.Rtsp.RtpPort);
        var cam1 = config.Streams["CAM1"];
        Assert.Equal(SourceTransport.Udp, cam1.Transport);
        Assert.Equal(TimeSpan.FromSeconds(2), cam1.StallTimeout);
        Assert.Equal(StartAt.Keyframe, cam1.StartAt);
        Assert.Equal("demo", config.Streams["demo"].Name);
    }

    [Fact]
    public void The_shorthand_form_sets_only_the_source()
    {
        var (config, errors) = Load(new() { ["Relay:Streams:cam1"] = "rtsp://10.0.0.5/stream1" });

        Assert.Empty(errors);
        Assert.Equal(new Uri("rtsp://10.0.0.5/stream1"), config!.Streams["cam1"].Source);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_with_its_key()
    {
        var (config, errors) = Load(new()
        {
            ["Relay:Streams:nosource:Transport"] = "tcp",
            ["Relay:Streams:badscheme:Source"] = "http://10.0.0.5/x",
            ["Relay:Streams:baduri:Source"] = "rtsp://user:secret@[bad",
            ["Relay:Streams:badtransport:Source"] = "rtsp://10.0.0.5/x",
            ["Relay:Streams:badtransport:Transport"] = "sctp",
            ["Relay:Streams:badtransport:Sorce"] = "typo",
            ["Relay:Streams:cam1:Source"] = "rtsp://10.0.0.5/a",
            ["Relay:Streams:cam1/:Source"] = "rtsp://10.0.0.5/b",
            ["Relay:Rtsp:Port"] = "70000",
        });

        Assert.Null(config);
        Assert.Contains(errors, e => e.StartsWith("Relay:Streams:nosource:Source: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Relay:Streams:badscheme:Source: scheme 'http'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Relay:Streams:baduri:Source:", StringComparison.Ordinal) && e.Contains("not a valid URI", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Relay:Streams:badtransport:Transport: 'sctp'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Relay:Streams:badtransport:Sorce: unknown setting", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("duplicate stream name 'cam1'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Relay:Rtsp:Port: '70000'", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("secret", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a b")]
    [InlineData("cam?1")]
    public void A_stream_name_must_be_a_path(string name)
    {
        var (_, errors) = Load(new() { [$"Relay:Streams:{name}:Source"] = "test:" });

        Assert.Contains(errors, e => e.Contains("not a valid path", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("500ms", 0.5)]
    [InlineData("5s", 5)]
    [InlineData("2m", 120)]
    [InlineData("1.5", 1.5)]
    [InlineData("00:00:07", 7)]
    public void Durations_are_read_as_people_write_them(string text, double seconds)
    {
        Assert.True(DurationParser.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("-5s")]
    [InlineData("NaNs")]
    [InlineData("999999999h")]
    [InlineData("1e300")]
    public void Bad_durations_are_rejected(string text)
    {
        Assert.False(DurationParser.TryParse(text, out _));
    }

    private static (RelayConfig? Config, IReadOnlyList<string> Errors) Load(Dictionary<string, string?> values) =>
        RelayConfigLoader.Load(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
}
