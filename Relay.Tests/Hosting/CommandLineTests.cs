using System.Net;
using System.Net.Sockets;
using Relay.Server.Configuration;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>The command line a new operator meets first: help, version, and mistakes named instead of ignored.</summary>
public sealed class CommandLineTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_the_usage_and_exits_0_without_serving(string flag)
    {
        // The ports the relay would serve on are held here: had it tried to serve, binding would fail (exit 3).
        using var rtsp = Hold(out var rtspPort);
        using var http = Hold(out var httpPort);

        var result = await RunRelayAsync([flag, $"--urls=http://127.0.0.1:{httpPort}", $"--Relay:Rtsp:Address=127.0.0.1", $"--Relay:Rtsp:Port={rtspPort}"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage: Relay.Server", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Relay:Streams:NAME", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("rtsp://HOST:8554/NAME", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("RELAY_CONFIG_FILE", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("serving", result.Stdout + result.Stderr, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Version_prints_relays_and_gstreamers_versions_and_exits_0()
    {
        using var rtsp = Hold(out var rtspPort);

        var result = await RunRelayAsync(["--version", $"--Relay:Rtsp:Address=127.0.0.1", $"--Relay:Rtsp:Port={rtspPort}"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^Relay \d+\.\d+\.\d+\n", result.Stdout);
        Assert.Contains("GStreamer 1.", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelt_section_in_an_argument_exits_2_naming_it_and_the_closest_known_name()
    {
        var result = await RunRelayAsync([.. RelayHost.LoopbackArgs, "--Relay:Stream:cam1:Source=test:"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Relay:Stream:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("did you mean Relay:Streams?", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelt_environment_variable_exits_2_and_a_misspelt_stream_setting_is_named_too()
    {
        var env = new Dictionary<string, string?> { ["Relay__Strems__cam1__Source"] = "test:" };
        var section = await RunRelayAsync([.. RelayHost.LoopbackArgs], env);
        var setting = await RunRelayAsync([.. RelayHost.LoopbackArgs, "--Relay:Streams:cam1:Source=test:", "--Relay:Streams:cam1:OnDemnad=true"]);

        Assert.Equal(2, section.ExitCode);
        Assert.Contains("Relay:Strems: unknown setting; did you mean Relay:Streams?", section.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, setting.ExitCode);
        Assert.Contains("Relay:Streams:cam1:OnDemnad: unknown setting; did you mean Relay:Streams:cam1:OnDemand?", setting.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cam1", "Unexpected argument 'cam1'")]
    [InlineData("-x", "Unknown option '-x'")]
    public async Task An_argument_that_is_not_a_setting_exits_2(string argument, string message)
    {
        var result = await RunRelayAsync([.. RelayHost.LoopbackArgs, argument]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Stream", "Streams")]
    [InlineData("strems", "Streams")]
    [InlineData("Chanels", "Channels")]
    [InlineData("NodeNmae", "NodeName")]
    [InlineData("Sorce", "Source")]
    public void The_closest_known_name_is_suggested(string typed, string expected) =>
        Assert.Equal(expected, RelayConfigLoader.Closest(typed, ["Rtsp", "Hls", "Mjpeg", "Api", "StateFile", "NodeName", "Streams", "Channels", "Source"]));

    [Theory]
    [InlineData("Cameras")]
    [InlineData("X")]
    public void Nothing_is_suggested_for_a_name_unlike_every_known_one(string typed) =>
        Assert.Null(RelayConfigLoader.Closest(typed, ["Rtsp", "Hls", "Mjpeg", "Api", "StateFile", "NodeName", "Streams", "Channels"]));

    [Fact]
    public async Task A_relay_with_no_streams_says_so_at_start_up()
    {
        var logs = new TestLoggerProvider(output);
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), logs);

        Assert.Contains(logs.Lines, l => l.Contains("No streams are configured", StringComparison.Ordinal));
    }

    private async Task<ProcessResult> RunRelayAsync(string[] args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var result = await RelayProcess.RunToExitAsync(args, environment);
        output.WriteLine($"exit {result.ExitCode}\nstdout:\n{result.Stdout}\nstderr:\n{result.Stderr}");
        return result;
    }

    private static TcpListener Hold(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }
}
