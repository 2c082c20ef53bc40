namespace Relay.Server.GStreamer;

/// <summary>What a pipeline's bus reported.</summary>
internal enum BusMessageKind
{
    EndOfStream,
    Error,
    Warning,
    StateChanged,
}

/// <summary>
/// A copy of the bus message fields Relay uses; nothing in it refers to native memory.
/// </summary>
/// <param name="Kind">The message type.</param>
/// <param name="Source">The name of the element that posted it.</param>
/// <param name="Domain">For errors and warnings: the GError domain.</param>
/// <param name="Code">For errors and warnings: the GError code.</param>
/// <param name="Text">For errors and warnings: the GError message.</param>
/// <param name="Debug">For errors and warnings: GStreamer's debug detail.</param>
/// <param name="NewState">For state changes of the pipeline: the state it reached.</param>
internal sealed record BusMessage(
    BusMessageKind Kind,
    string? Source,
    GstErrorDomain Domain = GstErrorDomain.Unknown,
    int Code = 0,
    string? Text = null,
    string? Debug = null,
    Interop.GstState NewState = Interop.GstState.VoidPending)
{
    /// <summary>Turns an error message into an exception.</summary>
    public GstException ToException() =>
        new($"{Source ?? "pipeline"}: {Text ?? Kind.ToString()}", Domain, Code, Debug);
}
