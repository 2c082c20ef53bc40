namespace Relay.Server.Streams;

/// <summary>A reader's stream can no longer feed it: the stream was removed, or its codec changed.</summary>
internal sealed class StreamEndedException : Exception
{
    public StreamEndedException()
        : base("The stream ended.")
    {
    }

    public StreamEndedException(string message)
        : base(message)
    {
    }

    public StreamEndedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
