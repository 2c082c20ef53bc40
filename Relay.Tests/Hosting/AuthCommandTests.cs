using System.Text.Json;
using Relay.Tests.Fixtures;
using Xunit.Abstractions;

namespace Relay.Tests.Hosting;

/// <summary>
/// The commands that make credentials: what <c>hash-password</c> and <c>new-token</c> print is pasted into the
/// configuration as is, and then lets the user (or token) in; plain-text passwords are refused with the way out.
/// </summary>
public sealed class AuthCommandTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string Password = "correct horse battery staple";

    [Fact]
    public async Task What_hash_password_prints_lets_the_user_in_with_basic_and_digest()
    {
        var printed = await RelayProcess.RunToExitAsync(["hash-password", "vms"], stdin: Password + "\n");
        Output.WriteLine(printed.Stdout + printed.Stderr);
        var settings = new Dictionary<string, string?> { ["Relay:Streams:demo:Source"] = "test:size=160x120&fps=10" };
        using (var user = JsonDocument.Parse("{" + printed.Stdout + "}"))
        {
            foreach (var setting in user.RootElement.GetProperty("vms").EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.String))
            {
                settings[$"Relay:Users:vms:{setting.Name}"] = setting.Value.GetString();
            }
        }

        await using var relay = await RelayHost.StartAsync(settings, Logs);
        var url = relay.RtspUrl("demo").ToString();
        await using var client = await RawRtspClient.ConnectAsync(relay.RtspPort);
        var challenge = await client.RequestAsync("DESCRIBE", url, 1);
        var digest = await client.RequestAsync("DESCRIBE", url, 2, Users.DigestHeader("vms", Password, "DESCRIBE", url, Users.NonceOf(challenge)));
        var basic = await client.RequestAsync("DESCRIBE", url, 3, Users.BasicHeader("vms", Password));

        Assert.Equal(0, printed.ExitCode);
        Assert.DoesNotContain(Password, printed.Stdout + printed.Stderr, StringComparison.Ordinal);
        Assert.StartsWith("pbkdf2-sha256$100000$", settings["Relay:Users:vms:PasswordHash"], StringComparison.Ordinal);
        Assert.Equal(401, challenge.Status);
        Assert.Equal(200, digest.Status);
        Assert.Equal(200, basic.Status);
    }

    [Fact]
    public async Task What_new_token_prints_lets_the_token_in()
    {
        var printed = await RelayProcess.RunToExitAsync(["new-token", "ci", "--scopes=read,write"]);
        Output.WriteLine(printed.Stdout + printed.Stderr);
        var token = System.Text.RegularExpressions.Regex.Match(printed.Stderr, "relay_[A-Za-z0-9_-]{43}").Value;
        var settings = new Dictionary<string, string?> { ["Relay:Streams:demo:Source"] = "test:size=160x120&fps=10" };
        using (var config = JsonDocument.Parse("{" + printed.Stdout + "}"))
        {
            var ci = config.RootElement.GetProperty("ci");
            settings["Relay:Tokens:ci:Hash"] = ci.GetProperty("Hash").GetString();
            settings["Relay:Tokens:ci:Scopes"] = string.Join(',', ci.GetProperty("Scopes").EnumerateArray().Select(s => s.GetString()));
        }

        await using var relay = await RelayHost.StartAsync(settings, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/api/v1/streams/demo");
        request.Headers.Authorization = new("Bearer", token);
        using var deleted = await http.SendAsync(request);

        Assert.Equal(0, printed.ExitCode);
        Assert.DoesNotContain(token, printed.Stdout, StringComparison.Ordinal); // the configuration holds the hash only
        Assert.Equal(System.Net.HttpStatusCode.NoContent, deleted.StatusCode);
    }

    [Fact]
    public async Task A_plain_text_password_in_the_configuration_is_refused_with_the_command_to_run()
    {
        var result = await RelayProcess.RunToExitAsync(["--Relay:Users:vms:Password=hunter2", "--Relay:Rtsp:Port=0", "--Relay:Rtsp:RtpPort=0", "--Relay:Rtsp:RtcpPort=0", "--urls=http://127.0.0.1:0"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Relay:Users:vms:Password: plain-text passwords are not accepted; run 'Relay.Server hash-password vms'", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", result.Stdout + result.Stderr, StringComparison.Ordinal);
    }
}
