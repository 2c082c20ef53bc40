namespace Relay.Media;

/// <summary>
/// The reference counting every <see cref="IMediaFrame"/> shares: a buffer rented from <see cref="MediaBufferPool"/>,
/// one reference for whoever created the frame, and the last <see cref="Release"/> returning the buffer to the pool,
/// exactly once even if the frame is misused afterwards.
/// </summary>
public abstract class PooledFrame
{
    private byte[] _buffer;
    private int _references = 1;

    /// <summary>Initializes a frame over a rented buffer, with one reference.</summary>
    /// <param name="buffer">A buffer from <see cref="MediaBufferPool.Rent"/>; the frame owns it.</param>
    protected PooledFrame(byte[] buffer)
    {
        _buffer = buffer;
    }

    /// <summary>Gets the number of references currently held (for tests and diagnostics).</summary>
    public int ReferenceCount => Volatile.Read(ref _references);

    /// <summary>
    /// Gets or sets the pooled buffer; empty after the last release. A frame replaces it only while it is being
    /// built, before anyone else holds a reference.
    /// </summary>
    protected byte[] Buffer
    {
        get => _buffer;
        set => _buffer = value;
    }

    /// <summary>
    /// Called once the last reference is gone and the buffer is back in the pool; a frame type that reuses its
    /// objects keeps this one for <see cref="Reuse"/>.
    /// </summary>
    protected virtual void OnReleased()
    {
    }

    /// <summary>Gives a released frame a new buffer and one reference again (only for an object no one holds).</summary>
    /// <param name="buffer">A buffer from <see cref="MediaBufferPool.Rent"/>; the frame owns it.</param>
    protected void Reuse(byte[] buffer)
    {
        _buffer = buffer;
        Volatile.Write(ref _references, 1);
    }

    /// <summary>Adds a reference.</summary>
    public void AddRef()
    {
        if (Interlocked.Increment(ref _references) <= 1)
        {
            throw new InvalidOperationException($"{GetType().Name}.AddRef after the last Release.");
        }
    }

    /// <summary>Drops a reference; the last one returns the buffer to the pool.</summary>
    public void Release()
    {
        var remaining = Interlocked.Decrement(ref _references);
        if (remaining == 0)
        {
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length != 0)
            {
                MediaBufferPool.Return(buffer);
            }

            OnReleased();
        }
        else if (remaining < 0)
        {
            throw new InvalidOperationException($"{GetType().Name} released more often than referenced.");
        }
    }
}
