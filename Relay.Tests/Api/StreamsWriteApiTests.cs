using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Relay.Server.Api;
using Relay.Server.Hosting;
using Relay.Tests.Fixtures;
using static Relay.Tests.Fixtures.ApiRequests;
using Relay.Tests.Hosting;
using Xunit.Abstractions;

namespace Relay.Tests.Api;

/// <summary>Managing streams through the HTTP API of a running relay: made, changed and deleted at once, kept over restarts.</summary>
/// <remarks>In the serial collection: the kill test starts twenty relay processes, which would starve timing tests beside it.</remarks>
[Collection(TimingCollection.Name)]
public sealed class StreamsWriteApiTests(ITestOutputHelper output) : InteropTestBase(output)
{
    private const string Pattern = "test:size=320x240&fps=25&gop=25&bitrate=300";
    private static readonly int[] NotAValue = [1];

    [Fact]
    public async Task A_stream_made_changed_and_deleted_through_the_api_takes_effect_at_once_and_another_streams_reader_sees_no_gap()
    {
        await using var camera = await FakeCamera.StartAsync();
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:other:Source"] = Pattern }, Logs);
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        await Clients.ProbeAsync(relay.RtspUrl("other"), "tcp");
        var otherReader = Clients.ReadWithFfmpegAsync(relay.RtspUrl("other"), "tcp", seconds: 12);
        await Eventually.WaitAsync(() => relay.Rtsp.Sessions.Any(s => s.IsPlaying), TimeSpan.FromSeconds(20), "the other stream's reader to play");

        using var created = await http.PostAsync("/api/v1/streams", Json(new { name = "cam", source = camera.Url.ToString(), connectTimeout = "5s" }));
        var probed = await Clients.ProbeAsync(relay.RtspUrl("cam"), "tcp", TimeSpan.FromSeconds(15));
        var createdTag = created.Headers.ETag?.Tag;

        await using var camReader = LiveProcess.Ffmpeg(relay.RtspUrl("cam"), "tcp");
        await camReader.WaitForFramesAsync(10, TimeSpan.FromSeconds(20));
        using var stale = await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/cam", new { transport = "udp" }, ifMatch: "\"0123\"");
        using var patched = await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/cam", new { transport = "udp" }, ifMatch: createdTag);
        await Eventually.WaitAsync(() => relay.Streams.TryGetStream("cam", out var r) && r.Hub.Epochs >= 2 && r.Hub.IsOnline, TimeSpan.FromSeconds(20), "the camera to be pulled again over UDP");
        var framesBeforeDelete = camReader.Frames;

        using var deleted = await SendAsync(http, HttpMethod.Delete, "/api/v1/streams/cam", body: null, ifMatch: patched.Headers.ETag?.Tag);
        await camReader.WaitForExitAsync(TimeSpan.FromSeconds(20)); // the relay closed its session
        await Eventually.WaitAsync(() => camera.SessionCount == 0, TimeSpan.FromSeconds(20), "the camera connection to end");
        using var gone = await http.GetAsync("/api/v1/streams/cam");
        var other = await otherReader;

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/api/v1/streams/cam", created.Headers.Location?.OriginalString);
        Assert.NotNull(createdTag);
        Assert.Equal("h264", Assert.Single(probed)["codec_name"]);
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        using (var body = JsonDocument.Parse(await patched.Content.ReadAsStringAsync()))
        {
            var settings = body.RootElement.GetProperty("settings");
            Assert.Equal(("udp", "5s", "api"), (settings.GetProperty("transport").GetString(), settings.GetProperty("connectTimeout").GetString(), body.RootElement.GetProperty("origin").GetString()));
        }

        Assert.NotEqual(createdTag, patched.Headers.ETag?.Tag);
        Assert.True(framesBeforeDelete > 10, "the reader kept reading through the transport change");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.True(other.ExitCode == 0, other.Result.Stderr);
        Assert.Empty(other.Problems);
        Assert.InRange(other.Frames, 290, 320);
        Assert.True(relay.Streams.TryGetStream("other", out var o) && o.Hub.Epochs == 1, "the other stream was not restarted");
    }

    [Fact]
    public async Task Bad_requests_get_a_4xx_listing_every_problem_and_change_nothing()
    {
        var stateFile = RelayHost.TemporaryStateFile();
        await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:keep:Source"] = Pattern, ["Relay:Streams:keep:OnDemand"] = "true" }, Logs, $"--Relay:StateFile={stateFile}");
        using var http = new HttpClient { BaseAddress = relay.HttpBase };
        using var before = JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams/keep"));

        var everyProblem = await ProblemAsync(await http.PostAsync("/api/v1/streams", Json(new { name = "x", source = "ftp://host/x", transport = "carrier-pigeon", retryDelay = "soon", onDemand = "perhaps", idleTimeout = NotAValue, colour = "red" })));
        var badName = await ProblemAsync(await http.PostAsync("/api/v1/streams", Json(new { name = "../etc", source = Pattern })));
        var noName = await ProblemAsync(await http.PostAsync("/api/v1/streams", Json(new { source = Pattern })));
        var duplicate = await ProblemAsync(await http.PostAsync("/api/v1/streams", Json(new { name = "KEEP", source = Pattern })));
        var huge = await ProblemAsync(await http.PostAsync("/api/v1/streams", Json(new { name = "big", source = Pattern, note = new string('x', 1024 * 1024) })));
        var notJson = await ProblemAsync(await http.PostAsync("/api/v1/streams", new StringContent("{\"name\": \"x\", ", Encoding.UTF8, "application/json")));
        var notObject = await ProblemAsync(await http.PostAsync("/api/v1/streams", new StringContent("[1, 2]", Encoding.UTF8, "application/json")));
        var plainText = await ProblemAsync(await http.PostAsync("/api/v1/streams", new StringContent("name=x", Encoding.UTF8, "text/plain")));
        var patchMissing = await ProblemAsync(await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/nope", new { onDemand = true }));
        var deleteMissing = await ProblemAsync(await SendAsync(http, HttpMethod.Delete, "/api/v1/streams/nope", body: null));
        var rename = await ProblemAsync(await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/keep", new { name = "other" }));
        var badPatch = await ProblemAsync(await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/keep", new { maxRetryDelay = "100ms", gopCacheMaxBytes = -1 }));
        var overflow = await ProblemAsync(await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/keep", new { idleTimeout = "999999999h" }));
        var createOnly = await ProblemAsync(await SendAsync(http, HttpMethod.Put, "/api/v1/streams/keep", new { source = Pattern }, ifNoneMatch: "*"));
        using var after = JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams/keep"));
        var all = JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams")).RootElement;

        Assert.Equal(HttpStatusCode.BadRequest, everyProblem.Status);
        Assert.Equal(["colour", "idleTimeout", "onDemand", "retryDelay", "source", "transport"], everyProblem.Errors.Order());
        Assert.Equal((HttpStatusCode.BadRequest, "name"), (badName.Status, Assert.Single(badName.Errors)));
        Assert.Equal((HttpStatusCode.BadRequest, "name"), (noName.Status, Assert.Single(noName.Errors)));
        Assert.Equal(HttpStatusCode.Conflict, duplicate.Status);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.Status);
        Assert.Equal((HttpStatusCode.BadRequest, "body"), (notJson.Status, Assert.Single(notJson.Errors)));
        Assert.Equal((HttpStatusCode.BadRequest, "body"), (notObject.Status, Assert.Single(notObject.Errors)));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, plainText.Status);
        Assert.Equal(HttpStatusCode.NotFound, patchMissing.Status);
        Assert.Equal(HttpStatusCode.NotFound, deleteMissing.Status);
        Assert.Equal((HttpStatusCode.BadRequest, "name"), (rename.Status, Assert.Single(rename.Errors)));
        Assert.Equal(["gopCacheMaxBytes", "maxRetryDelay"], badPatch.Errors.Order());
        Assert.Equal((HttpStatusCode.BadRequest, "idleTimeout"), (overflow.Status, Assert.Single(overflow.Errors)));
        Assert.Equal(HttpStatusCode.PreconditionFailed, createOnly.Status);
        Assert.Equal(before.RootElement.GetProperty("settings").ToString(), after.RootElement.GetProperty("settings").ToString());
        Assert.Equal("config", after.RootElement.GetProperty("origin").GetString());
        Assert.Equal(1, all.GetArrayLength());
        Assert.False(File.Exists(stateFile), "nothing was written");
    }

    [Fact]
    public async Task Api_changes_survive_a_restart_and_win_over_the_configuration_file_which_still_adds_and_changes_its_other_streams()
    {
        var dir = Directory.CreateTempSubdirectory("relay-state-");
        var file = Path.Combine(dir.FullName, "relay.json");
        var stateFile = Path.Combine(dir.FullName, "state", "relay-state.json");
        string[] args = [$"--config={file}", $"--Relay:StateFile={stateFile}"];
        try
        {
            await WriteConfigAsync(file, ("a", "smpte"), ("b", "ball"));
            await using (var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs, args))
            {
                using var http = new HttpClient { BaseAddress = relay.HttpBase };
                (await http.PostAsync("/api/v1/streams", Json(new { name = "c", source = Pattern, onDemand = true }))).EnsureSuccessStatusCode();
                (await SendAsync(http, HttpMethod.Patch, "/api/v1/streams/a", new { idleTimeout = "42s" })).EnsureSuccessStatusCode();
                (await SendAsync(http, HttpMethod.Delete, "/api/v1/streams/b", body: null)).EnsureSuccessStatusCode();
            }

            var mode = OperatingSystem.IsWindows() ? default : File.GetUnixFileMode(stateFile);
            await using (var relay = await RelayHost.StartAsync(new Dictionary<string, string?>(), Logs, args))
            {
                using var http = new HttpClient { BaseAddress = relay.HttpBase };
                var afterRestart = await SettingsAsync(http);
                var reloaded = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                relay.Streams.Reloaded += ok => reloaded.TrySetResult(ok);
                await WriteConfigAsync(file, ("a", "snow"), ("b", "snow"), ("d", "ball"));
                Assert.True(await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20)));
                var afterReload = await SettingsAsync(http);
                (await http.PostAsync("/api/v1/streams", Json(new { name = "b", source = Pattern + "&pattern=smpte", onDemand = true }))).EnsureSuccessStatusCode();
                var remade = await SettingsAsync(http);

                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, mode);
                Assert.Equal(["a", "c"], afterRestart.Keys.Order());
                Assert.Equal(("42s", "api", "true"), (afterRestart["a"].IdleTimeout, afterRestart["a"].Origin, afterRestart["c"].OnDemand));
                Assert.Contains("pattern=smpte", afterRestart["a"].Source, StringComparison.Ordinal);
                Assert.Equal(["a", "c", "d"], afterReload.Keys.Order());
                Assert.Contains("pattern=smpte", afterReload["a"].Source, StringComparison.Ordinal); // the API's version stays
                Assert.Equal("config", afterReload["d"].Origin);
                Assert.Equal(["a", "b", "c", "d"], remade.Keys.Order());
                Assert.Equal("api", remade["b"].Origin);
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_state_file_that_cannot_be_read_is_kept_aside_and_the_configured_streams_still_run()
    {
        var dir = Directory.CreateTempSubdirectory("relay-state-");
        var stateFile = Path.Combine(dir.FullName, "relay-state.json");
        try
        {
            await File.WriteAllTextAsync(stateFile, "{ \"version\": 1, \"streams\": { \"x\": ");
            await using var relay = await RelayHost.StartAsync(new Dictionary<string, string?> { ["Relay:Streams:keep:Source"] = Pattern, ["Relay:Streams:keep:OnDemand"] = "true" }, Logs, $"--Relay:StateFile={stateFile}");
            using var http = new HttpClient { BaseAddress = relay.HttpBase };

            var streams = await SettingsAsync(http);

            Assert.Equal(["keep"], streams.Keys);
            Assert.Single(dir.GetFiles("relay-state.json.unreadable-*"));
            Assert.Contains(Logs.Lines, l => l.Contains("state file could not be read", StringComparison.Ordinal));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Killing_the_process_during_a_storm_of_writes_never_leaves_a_state_file_that_does_not_load()
    {
        var random = new Random(20261202);
        var stateFile = RelayHost.TemporaryStateFile();
        var acknowledged = new Dictionary<string, int>(); // per stream: the last value the relay confirmed
        try
        {
            for (var round = 0; round < 20; round++)
            {
                (string Stream, int Value)? inFlight = null;
                var killAt = random.Next(1, 30); // acknowledged writes before the kill; it lands while the next one is under way
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await using (var relay = await RelayProcess.StartAsync(Output, $"--Relay:StateFile={stateFile}"))
                {
                    using var http = new HttpClient { BaseAddress = relay.HttpBase, Timeout = TimeSpan.FromSeconds(20) };
                    var value = round * 1000;
                    var writer = Task.Run(async () =>
                    {
                        try
                        {
                            for (var write = 1; write <= 1000; write++)
                            {
                                var stream = $"s{random.Next(4)}";
                                inFlight = (stream, ++value);
                                using var response = await SendAsync(http, HttpMethod.Put, $"/api/v1/streams/{stream}", new { source = Pattern, onDemand = true, idleTimeout = $"{value}s" });
                                response.EnsureSuccessStatusCode();
                                acknowledged[stream] = value;
                                inFlight = null;
                                if (write == killAt)
                                {
                                    reached.TrySetResult();
                                }
                            }
                        }
                        catch (HttpRequestException) when (reached.Task.IsCompleted)
                        {
                            // The relay was killed under this request.
                        }
                    });
                    await Task.WhenAny(reached.Task, writer).Unwrap().WaitAsync(TimeSpan.FromSeconds(60));
                    relay.KillNow();
                    await writer.WaitAsync(TimeSpan.FromSeconds(30));
                }

                var state = StateFile.Load(stateFile); // throws if the file does not load
                foreach (var (stream, value) in acknowledged)
                {
                    var stored = int.Parse(state.Streams[stream]["IdleTimeout"].TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture);
                    Assert.True(stored == value || (inFlight?.Stream == stream && stored == inFlight.Value.Value), $"round {round}: {stream} holds {stored}, acknowledged {value}, in flight {inFlight}");
                }
            }

            Assert.True(acknowledged.Count > 0, "some writes were acknowledged");
        }
        finally
        {
            File.Delete(stateFile);
        }
    }

    [Theory]
    [InlineData("127.0.0.1", false, true)]
    [InlineData("127.0.0.2", false, true)]
    [InlineData("::1", false, true)]
    [InlineData("::ffff:127.0.0.1", false, true)]
    [InlineData("10.0.0.7", false, false)]
    [InlineData("::ffff:192.168.1.4", false, false)]
    [InlineData("10.0.0.7", true, true)]
    public void Writes_come_from_loopback_unless_remote_writes_are_allowed(string address, bool allowRemote, bool allowed)
    {
        Assert.Equal(allowed, WriteAccess.IsAllowed(IPAddress.Parse(address), allowRemote));
        Assert.False(WriteAccess.IsAllowed(null, allowRemote: false));
    }

    private static async Task<Dictionary<string, (string Source, string IdleTimeout, string OnDemand, string Origin)>> SettingsAsync(HttpClient http)
    {
        using var all = JsonDocument.Parse(await http.GetStringAsync("/api/v1/streams"));
        return all.RootElement.EnumerateArray().ToDictionary(
            s => s.GetProperty("name").GetString()!,
            s =>
            {
                var settings = s.GetProperty("settings");
                return (settings.GetProperty("source").GetString()!, settings.GetProperty("idleTimeout").GetString()!, settings.GetProperty("onDemand").GetString()!, s.GetProperty("origin").GetString()!);
            });
    }

    private static async Task WriteConfigAsync(string file, params (string Name, string Pattern)[] streams)
    {
        var body = string.Join(",\n", streams.Select(s => $"      \"{s.Name}\": {{ \"Source\": \"{Pattern}&pattern={s.Pattern}\", \"OnDemand\": true }}"));
        await File.WriteAllTextAsync(file + ".tmp", $"{{\n  \"Relay\": {{\n    \"Streams\": {{\n{body}\n    }}\n  }}\n}}\n");
        File.Move(file + ".tmp", file, overwrite: true);
    }
}
