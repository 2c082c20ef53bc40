namespace Relay.Server.Streams;

/// <summary>A reader stayed behind with a full queue for longer than its stall timeout and was cut off.</summary>
internal sealed class ReaderTooSlowException : Exception
{
    public ReaderTooSlowException()
        : base("The reader could not keep up and was disconnected.")
    {
    }

    public ReaderTooSlowException(string message)
        : base(message)
    {
    }

    public ReaderTooSlowException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
