using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.GStreamer;

namespace Relay.Server.Sources;

/// <summary>
/// One connection to a source through a GStreamer pipeline that ends in appsinks. Events (appsink samples, bus
/// messages, rtspsrc's SDP, the watchdog tick) are applied in order under one lock, on the thread that produced them:
/// a sample goes from its streaming thread straight through the stream to the readers' queues and sockets, with no
/// thread hop (every step on that path is non-blocking). A decision to end the connection (error, end of stream,
/// connect or stall timeout) completes a task; the teardown then runs on a thread-pool thread, never on a
/// GStreamer thread.
/// </summary>
internal sealed partial class IngestSession : ISourceConnection
{
    private static readonly TimeSpan WatchdogPeriod = TimeSpan.FromMilliseconds(250);

    private readonly Lock _gate = new(); // orders every event; taken before the stream's lock
    private readonly IMediaSink _sink;
    private readonly Uri _source;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _stallTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<SourceExit> _exit = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Element> _owned = []; // guarded by itself
    private readonly List<Element> _sinks = []; // guarded by _owned
    private bool _sinksStopped; // guarded by _owned
    private readonly long _started;
    private Pipeline? _pipeline;
    private Task<SourceExit>? _completion;
    private ITimer? _watchdog;
    private TrackInfo[] _tracks = []; // guarded by _gate
    private bool _epochStarted; // guarded by _gate
    private bool _online; // guarded by _gate
    private bool _finished; // guarded by _gate: no event is applied after the end was decided
    private long _lastUnit; // guarded by _gate
    private readonly ReportThrottle _sampleFailures; // units dropped because their track update failed, reported every 10 s
    private readonly ReportThrottle _warnings; // GStreamer warnings, summarised at most once a second
    private string? _lastWarning; // guarded by _gate

    public IngestSession(Uri source, IMediaSink sink, TimeSpan connectTimeout, TimeSpan stallTimeout, TimeProvider time, ILogger logger)
    {
        _source = source;
        _sink = sink;
        _connectTimeout = connectTimeout;
        _stallTimeout = stallTimeout;
        _time = time;
        _logger = logger;
        _started = time.GetTimestamp();
        _warnings = new ReportThrottle(time, TimeSpan.FromSeconds(1));
        _sampleFailures = new ReportThrottle(time, TimeSpan.FromSeconds(10));
    }

    /// <inheritdoc />
    public Task Connected => _connected.Task;

    /// <inheritdoc />
    public Task<SourceExit> Completion => _completion ?? throw new InvalidOperationException("The session was not started.");

    /// <summary>Gets the callback to give <see cref="Pipeline.Create"/>: it applies bus messages.</summary>
    public Action<BusMessage> BusCallback => OnBusMessage;

    /// <summary>Keeps an element reference alive until the session ends (thread-safe).</summary>
    public void Own(Element element)
    {
        lock (_owned)
        {
            _owned.Add(element);
        }
    }

    /// <summary>
    /// Keeps an appsink alive until the session ends and stops it before the rest of the pipeline (thread-safe).
    /// Over TCP rtspsrc's own thread carries each packet down to the appsink (no jitter buffer in between); going
    /// down through PAUSED, that thread would wait in the appsink for a preroll while rtspsrc waits for that thread.
    /// </summary>
    public void OwnSink(Element appsink)
    {
        lock (_owned)
        {
            _owned.Add(appsink);
            if (!_sinksStopped)
            {
                _sinks.Add(appsink);
                return;
            }
        }

        appsink.StopAhead(); // a track linked while the session goes down
    }

    /// <summary>Applies the track list (from the SDP, or known up front for a test source): a new epoch begins.</summary>
    public void PostTracks(TrackInfo[] tracks)
    {
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            _tracks = tracks;
            _epochStarted = true;
            Log.Tracks(_logger, string.Join(", ", tracks.Select(t => t.ToString())));
            _sink.OnEpochStarted(tracks);
        }
    }

    /// <summary>Applies an access unit; the session takes the caller's reference. Never blocks on I/O.</summary>
    public void PostSample(AccessUnit unit, string? caps)
    {
        lock (_gate)
        {
            if (_finished || !_epochStarted || (uint)unit.TrackIndex >= (uint)_tracks.Length)
            {
                unit.Release();
                return;
            }

            var track = _tracks[unit.TrackIndex];
            try
            {
                var updated = caps is null ? track : TrackParameters.ApplyCaps(track, caps);
                if (unit.IsKeyframe && updated.Kind == MediaKind.Video)
                {
                    updated = TrackParameters.ApplyInBand(updated, unit.Data.Span);
                    if (TrackParameters.WithParameterSets(updated, unit) is { } complete)
                    {
                        unit.Release();
                        unit = complete;
                    }
                }

                if (!ReferenceEquals(updated, track))
                {
                    _tracks[unit.TrackIndex] = updated;
                    Log.TrackChanged(_logger, updated.ToString());
                    _sink.OnTrackChanged(updated);
                }
            }
            catch (Exception e)
            {
                // Bad parameters from a camera (or a bug reading them) cost this unit, never the pooled buffer or the
                // streaming thread: the unit goes back to the pool and the next one is tried.
                var index = unit.TrackIndex;
                unit.Release();
                if (_sampleFailures.Count(out var failures))
                {
                    Log.SampleFailed(_logger, index, failures, e);
                }

                return;
            }

            _lastUnit = _time.GetTimestamp();
            if (!_online)
            {
                _online = true;
                _connected.TrySetResult();
            }

            _sink.OnAccessUnit(unit);
        }
    }

    /// <summary>Logs a note, for example a track that cannot be linked.</summary>
    public void PostNote(string note) => Log.UnsupportedPad(_logger, note);

    /// <summary>Starts the pipeline and the watchdog.</summary>
    public void Start(Pipeline pipeline)
    {
        _pipeline = pipeline;
        _watchdog = _time.CreateTimer(static state => ((IngestSession)state!).OnTick(), this, WatchdogPeriod, WatchdogPeriod);
        _completion = RunAsync();
        try
        {
            pipeline.SetState(Interop.GstState.Playing);
        }
        catch (GstException e)
        {
            // The bus usually carries the reason too; whichever arrives first ends the attempt.
            OnBusMessage(new BusMessage(BusMessageKind.Error, pipeline.Name, Text: e.Message));
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_completion is not null)
        {
            await _completion;
        }
        else
        {
            Teardown();
        }

        _stop.Dispose();
    }

    private async Task<SourceExit> RunAsync()
    {
        SourceExit exit;
        try
        {
            exit = await _exit.Task.WaitAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            exit = new SourceExit(RelayError.None, "stopped", WasOnline: false);
        }

        bool epochStarted, online;
        lock (_gate)
        {
            _finished = true;
            epochStarted = _epochStarted;
            online = _online;
        }

        // Off the GStreamer threads: stopping joins them.
        await Task.Run(Teardown);
        if (epochStarted)
        {
            _sink.OnEpochEnded();
        }

        if (!online)
        {
            _connected.TrySetException(new SourceException(exit.Error == RelayError.None ? RelayError.SourceEnded : exit.Error, exit.Message));
        }

        return exit with { WasOnline = online };
    }

    private void Finish(SourceExit exit)
    {
        _finished = true;
        _exit.TrySetResult(exit);
    }

    private void OnBusMessage(BusMessage message)
    {
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            switch (message.Kind)
            {
                case BusMessageKind.Error:
                    var text = SourceUri.Scrub(message.Text ?? "pipeline error", _source).TrimEnd('.');
                    Finish(new SourceExit(SourceErrors.Classify(message), text, _online));
                    break;
                case BusMessageKind.EndOfStream:
                    // rtspsrc reports a dropped connection as a warning followed by EOS.
                    Finish(_lastWarning is { } warning
                        ? new SourceExit(RelayError.SourceUnreachable, $"the connection was lost ({warning})", _online)
                        : new SourceExit(RelayError.SourceEnded, "the source ended the stream", _online));
                    break;
                case BusMessageKind.Warning:
                    _lastWarning = SourceUri.Scrub(message.Text ?? string.Empty, _source).TrimEnd('.');
                    if (_warnings.Count(out var warnings))
                    {
                        // Noisy: summarised at most once a second.
                        Log.Warnings(_logger, warnings, _lastWarning);
                    }

                    break;
            }
        }
    }

    private void OnTick()
    {
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            var now = _time.GetTimestamp();
            if (!_online && _time.GetElapsedTime(_started, now) > _connectTimeout)
            {
                Finish(new SourceExit(RelayError.SourceTimedOut, $"no media within {_connectTimeout.TotalSeconds:0.#} s", WasOnline: false));
            }
            else if (_online && _time.GetElapsedTime(_lastUnit, now) > _stallTimeout)
            {
                Finish(new SourceExit(RelayError.SourceStalled, $"no media for {_stallTimeout.TotalSeconds:0.#} s", WasOnline: true));
            }
        }
    }

    private void Teardown()
    {
        _watchdog?.Dispose();
        _watchdog = null;

        // The appsinks first (see OwnSink), then NULL: it joins every streaming thread, so no callback runs after this.
        Element[] sinks;
        lock (_owned)
        {
            _sinksStopped = true;
            sinks = [.. _sinks];
            _sinks.Clear();
        }

        foreach (var sink in sinks)
        {
            sink.StopAhead();
        }

        _pipeline?.Stop();
        lock (_owned)
        {
            foreach (var element in _owned)
            {
                element.Dispose();
            }

            _owned.Clear();
        }

        _pipeline?.Dispose();
        _pipeline = null;
        GstRuntime.ReturnFreedMemory();
    }
}

