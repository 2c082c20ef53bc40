using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Relay.Configuration;
using Relay.Media;
using Relay.Server.GStreamer;

namespace Relay.Server.Sources;

/// <summary>
/// One connection to a source through a GStreamer pipeline that ends in appsinks. Native callbacks (appsink
/// samples, bus messages, rtspsrc signals) only copy and post events into a channel; one pump task applies
/// them in order: it tracks parameters, calls the sink, enforces the connect and stall timeouts, and tears
/// the pipeline down when the connection ends.
/// </summary>
internal sealed partial class IngestSession : ISourceConnection
{
    private const int EventCapacity = 4096;

    private readonly Channel<IngestEvent> _events = Channel.CreateBounded<IngestEvent>(
        new BoundedChannelOptions(EventCapacity) { SingleReader = true, SingleWriter = false, FullMode = BoundedChannelFullMode.Wait });

    private readonly IMediaSink _sink;
    private readonly Uri _source;
    private readonly TimeSpan _connectTimeout;
    private readonly TimeSpan _stallTimeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Element> _owned = []; // guarded by itself
    private readonly Lock _ownedGate = new();
    private Pipeline? _pipeline;
    private Task<SourceExit>? _completion;
    private ITimer? _watchdog;
    private long _droppedEvents;

    public IngestSession(Uri source, IMediaSink sink, TimeSpan connectTimeout, TimeSpan stallTimeout, TimeProvider time, ILogger logger)
    {
        _source = source;
        _sink = sink;
        _connectTimeout = connectTimeout;
        _stallTimeout = stallTimeout;
        _time = time;
        _logger = logger;
    }

    /// <inheritdoc />
    public Task Connected => _connected.Task;

    /// <inheritdoc />
    public Task<SourceExit> Completion => _completion ?? throw new InvalidOperationException("The session was not started.");

    /// <summary>Gets the callback to give <see cref="Pipeline.Create"/>: it posts bus messages to the pump.</summary>
    public Action<BusMessage> BusCallback => message => Post(new IngestEvent(IngestEventKind.Bus, Bus: message));

    /// <summary>Keeps an element reference alive until the session ends (thread-safe).</summary>
    public void Own(Element element)
    {
        lock (_ownedGate)
        {
            _owned.Add(element);
        }
    }

    /// <summary>Posts the track list (from the SDP, or known up front for a test source). Thread-safe.</summary>
    public void PostTracks(TrackInfo[] tracks) => Post(new IngestEvent(IngestEventKind.Tracks, Tracks: tracks));

    /// <summary>Posts an access unit; the session takes the caller's reference. Thread-safe, never blocks.</summary>
    public void PostSample(AccessUnit unit, string? caps) => Post(new IngestEvent(IngestEventKind.Sample, Unit: unit, Caps: caps));

    /// <summary>Posts a note for the log, for example a track that cannot be linked. Thread-safe.</summary>
    public void PostNote(string note) => Post(new IngestEvent(IngestEventKind.Note, Caps: note));

    /// <summary>Starts the pipeline and the pump.</summary>
    public void Start(Pipeline pipeline)
    {
        _pipeline = pipeline;
        _watchdog = _time.CreateTimer(
            static state => ((IngestSession)state!).Post(new IngestEvent(IngestEventKind.Tick)),
            this,
            TimeSpan.FromMilliseconds(250),
            TimeSpan.FromMilliseconds(250));
        _completion = Task.Run(PumpAsync);
        try
        {
            pipeline.SetState(Interop.GstState.Playing);
        }
        catch (GstException e)
        {
            // The bus usually carries the reason too; whichever arrives first ends the attempt.
            Post(new IngestEvent(IngestEventKind.Bus, Bus: new BusMessage(BusMessageKind.Error, pipeline.Name, Text: e.Message)));
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

    private void Post(in IngestEvent e)
    {
        if (_events.Writer.TryWrite(e))
        {
            return;
        }

        // The pump is far behind (or finished): drop rather than block a GStreamer streaming thread.
        e.Unit?.Release();
        if (e.Kind != IngestEventKind.Tick)
        {
            Interlocked.Increment(ref _droppedEvents);
        }
    }

    private async Task<SourceExit> PumpAsync()
    {
        var state = new PumpState(_time.GetTimestamp());
        var exit = default(SourceExit);
        try
        {
            exit = await RunPumpAsync(state);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            exit = new SourceExit(RelayError.None, "stopped", state.Online);
        }
        catch (Exception e)
        {
            exit = new SourceExit(RelayError.PipelineError, SourceUri.Scrub(e.Message, _source), state.Online);
        }
        finally
        {
            _events.Writer.TryComplete();
            Teardown();
            while (_events.Reader.TryRead(out var left))
            {
                left.Unit?.Release();
            }

            if (state.EpochStarted)
            {
                _sink.OnEpochEnded();
            }

            if (!state.Online)
            {
                _connected.TrySetException(new SourceException(exit!.Error == RelayError.None ? RelayError.SourceEnded : exit.Error, exit.Message));
            }
        }

        return exit;
    }

    private async Task<SourceExit> RunPumpAsync(PumpState state)
    {
        var reader = _events.Reader;
        while (await reader.WaitToReadAsync(_stop.Token))
        {
            while (reader.TryRead(out var e))
            {
                var exit = Handle(state, e);
                if (exit is not null)
                {
                    return exit;
                }
            }
        }

        return new SourceExit(RelayError.SourceEnded, "ended", state.Online);
    }

    private SourceExit? Handle(PumpState state, in IngestEvent e)
    {
        switch (e.Kind)
        {
            case IngestEventKind.Tracks:
                state.Tracks = e.Tracks!;
                state.EpochStarted = true;
                Log.Tracks(_logger, string.Join(", ", state.Tracks.Select(t => t.ToString())));
                _sink.OnEpochStarted(state.Tracks);
                return null;

            case IngestEventKind.Sample:
                HandleSample(state, e.Unit!, e.Caps);
                return null;

            case IngestEventKind.Bus:
                return HandleBus(state, e.Bus!);

            case IngestEventKind.Note:
                Log.UnsupportedPad(_logger, e.Caps!);
                return null;

            case IngestEventKind.Tick:
                return CheckTimeouts(state);

            default:
                return null;
        }
    }

    private void HandleSample(PumpState state, AccessUnit unit, string? caps)
    {
        var tracks = state.Tracks;
        if (!state.EpochStarted || (uint)unit.TrackIndex >= (uint)tracks.Length)
        {
            unit.Release();
            return;
        }

        var track = tracks[unit.TrackIndex];
        var updated = caps is null ? track : TrackParameters.ApplyCaps(track, caps);
        if (unit.IsKeyframe && updated.Kind == MediaKind.Video)
        {
            updated = TrackParameters.ApplyInBand(updated, unit.Data.Span);
        }

        if (!ReferenceEquals(updated, track))
        {
            tracks[unit.TrackIndex] = updated;
            Log.TrackChanged(_logger, updated.ToString());
            _sink.OnTrackChanged(updated);
        }

        state.LastUnit = _time.GetTimestamp();
        if (!state.Online)
        {
            state.Online = true;
            _connected.TrySetResult();
        }

        _sink.OnAccessUnit(unit);
    }

    private SourceExit? HandleBus(PumpState state, BusMessage message)
    {
        switch (message.Kind)
        {
            case BusMessageKind.Error:
                var text = SourceUri.Scrub(message.Text ?? "pipeline error", _source).TrimEnd('.');
                return new SourceExit(SourceErrors.Classify(message), text, state.Online);
            case BusMessageKind.EndOfStream:
                // rtspsrc reports a dropped connection as a warning followed by EOS.
                return state.LastWarning is { } warning
                    ? new SourceExit(RelayError.SourceUnreachable, $"the connection was lost ({warning})", state.Online)
                    : new SourceExit(RelayError.SourceEnded, "the source ended the stream", state.Online);
            case BusMessageKind.Warning:
                state.LastWarning = SourceUri.Scrub(message.Text ?? string.Empty, _source).TrimEnd('.');
                state.Warnings++;
                var now = _time.GetTimestamp();
                if (_time.GetElapsedTime(state.LastWarningLog, now) >= TimeSpan.FromSeconds(1))
                {
                    // Noisy: summarised at most once a second.
                    Log.Warnings(_logger, state.Warnings, SourceUri.Scrub(message.Text ?? string.Empty, _source));
                    state.Warnings = 0;
                    state.LastWarningLog = now;
                }

                return null;
            default:
                return null;
        }
    }

    private SourceExit? CheckTimeouts(PumpState state)
    {
        var dropped = Interlocked.Exchange(ref _droppedEvents, 0);
        if (dropped > 0)
        {
            Log.EventsDropped(_logger, dropped);
        }

        var now = _time.GetTimestamp();
        if (!state.Online && _time.GetElapsedTime(state.Started, now) > _connectTimeout)
        {
            return new SourceExit(RelayError.SourceTimedOut, $"no media within {_connectTimeout.TotalSeconds:0.#} s", WasOnline: false);
        }

        if (state.Online && _time.GetElapsedTime(state.LastUnit, now) > _stallTimeout)
        {
            return new SourceExit(RelayError.SourceStalled, $"no media for {_stallTimeout.TotalSeconds:0.#} s", WasOnline: true);
        }

        return null;
    }

    private void Teardown()
    {
        _watchdog?.Dispose();
        _watchdog = null;

        // NULL first: it joins every streaming thread, so no callback runs after this.
        _pipeline?.Stop();
        lock (_ownedGate)
        {
            foreach (var element in _owned)
            {
                element.Dispose();
            }

            _owned.Clear();
        }

        _pipeline?.Dispose();
        _pipeline = null;
    }

    private sealed class PumpState(long started)
    {
        public long Started { get; } = started;

        public TrackInfo[] Tracks { get; set; } = [];

        public bool EpochStarted { get; set; }

        public bool Online { get; set; }

        public long LastUnit { get; set; }

        public int Warnings { get; set; }

        public string? LastWarning { get; set; }

        public long LastWarningLog { get; set; }
    }
}

/// <summary>What a native callback posted.</summary>
internal enum IngestEventKind
{
    Tick,
    Tracks,
    Sample,
    Bus,
    Note,
}

/// <summary>One posted event; a struct so that posting a sample allocates nothing.</summary>
internal readonly record struct IngestEvent(
    IngestEventKind Kind,
    AccessUnit? Unit = null,
    string? Caps = null,
    TrackInfo[]? Tracks = null,
    BusMessage? Bus = null);
