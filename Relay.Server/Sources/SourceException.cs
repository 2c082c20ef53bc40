using Relay.Configuration;

namespace Relay.Server.Sources;

/// <summary>A source connection attempt failed; <see cref="Error"/> says how.</summary>
internal sealed class SourceException : Exception
{
    public SourceException(RelayError error, string message)
        : base(message)
    {
        Error = error;
    }

    public SourceException()
        : this(RelayError.PipelineError, "Source failed.")
    {
    }

    public SourceException(string message)
        : this(RelayError.PipelineError, message)
    {
    }

    public SourceException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = RelayError.PipelineError;
    }

    /// <summary>Gets the failure kind.</summary>
    public RelayError Error { get; }
}

/// <summary>How a source connection ended.</summary>
/// <param name="Error">Why, or <see cref="RelayError.None"/> when it was stopped.</param>
/// <param name="Message">A redacted, human-readable reason.</param>
/// <param name="WasOnline">Whether media flowed before it ended.</param>
internal sealed record SourceExit(RelayError Error, string Message, bool WasOnline);
