using Relay.Media;
using Relay.Server.Sources;

namespace Relay.Tests.Sources;

public sealed class TestPatternOptionsTests
{
    [Fact]
    public void Parse_reads_every_parameter()
    {
        var (options, errors) = TestPatternOptions.Parse(new Uri("test:pattern=ball&size=640x360&fps=30&bitrate=800&gop=60&codec=h265&audio=opus"));

        Assert.Empty(errors);
        Assert.Equal(new TestPatternOptions { Pattern = "ball", Width = 640, Height = 360, Fps = 30, Bitrate = 800, Gop = 60, VideoCodec = Codec.H265, AudioCodec = Codec.Opus }, options);
    }

    [Fact]
    public void Parse_reports_every_bad_parameter()
    {
        var (_, errors) = TestPatternOptions.Parse(new Uri("test:pattern=plaid&size=big&fps=0&colour=red"));

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Contains("plaid", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("size", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("fps", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("colour", StringComparison.Ordinal));
    }

    [Fact]
    public void The_pipeline_has_one_appsink_per_track()
    {
        var options = new TestPatternOptions { AudioCodec = Codec.Aac };

        var description = TestPatternSource.Describe(options);

        Assert.Contains("appsink name=sink0", description, StringComparison.Ordinal);
        Assert.Contains("appsink name=sink1", description, StringComparison.Ordinal);
        Assert.Equal(2, TestPatternSource.Tracks(options).Length);
    }
}
