using Relay.Tests.Fixtures;

namespace Relay.Tests.Hosting;

/// <summary>The real relay process, started with a broken configuration, stops and names every problem.</summary>
public sealed class ConfigurationStartupTests
{
    [Fact]
    public async Task A_bad_configuration_stops_the_process_with_a_message_naming_each_problem()
    {
        var (exitCode, stderr) = await RunRelayAsync(
            "--Relay:Streams:nosource:Transport=tcp",
            "--Relay:Streams:baduri:Source=rtsp://admin:topsecret@[::1",
            "--Relay:Streams:cam1:Source=rtsp://10.0.0.5/a",
            "--Relay:Streams:cam1/:Source=rtsp://10.0.0.5/b");

        Assert.Equal(2, exitCode);
        Assert.Contains("Invalid configuration", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:Streams:nosource:Source: is required", stderr, StringComparison.Ordinal);
        Assert.Contains("Relay:Streams:baduri:Source:", stderr, StringComparison.Ordinal);
        Assert.Contains("duplicate stream name 'cam1'", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_duplicate_stream_in_a_json_file_is_reported_by_name()
    {
        var dir = Directory.CreateTempSubdirectory("relay-config-");
        try
        {
            var file = Path.Combine(dir.FullName, "relay.json");
            await File.WriteAllTextAsync(file, """{ "Relay": { "Streams": { "cam1": { "Source": "test:" }, "cam1": { "Source": "test:" } } } }""");

            var (exitCode, stderr) = await RunRelayAsync($"--config={file}");

            Assert.Equal(2, exitCode);
            Assert.Contains("duplicate stream name 'cam1'", stderr, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunRelayAsync(params string[] args)
    {
        var result = await RelayProcess.RunToExitAsync(["--urls=http://127.0.0.1:0", .. args], timeout: TimeSpan.FromSeconds(30));
        return (result.ExitCode, result.Stderr + result.Stdout);
    }
}
