namespace Relay.Server.Codecs;

/// <summary>Splits an Annex B byte stream (ITU-T H.264 Annex B) into NAL units.</summary>
internal static class AnnexB
{
    private static ReadOnlySpan<byte> StartCode => [0, 0, 1];

    /// <summary>Enumerates the NAL units of <paramref name="data"/>, without their start codes.</summary>
    public static NalEnumerator Enumerate(ReadOnlySpan<byte> data) => new(data);

    /// <summary>
    /// Finds the next NAL unit at or after <paramref name="position"/>.
    /// </summary>
    /// <param name="data">The byte stream.</param>
    /// <param name="position">Where to search from; on return, where to search for the one after.</param>
    /// <param name="start">The unit's first byte (its header).</param>
    /// <param name="length">The unit's length, trailing zero bytes excluded.</param>
    /// <returns>False when there are no more units.</returns>
    public static bool TryFindNext(ReadOnlySpan<byte> data, ref int position, out int start, out int length)
    {
        start = 0;
        length = 0;
        if (position >= data.Length)
        {
            return false;
        }

        var found = data[position..].IndexOf(StartCode);
        if (found < 0)
        {
            // Data without any start code (or a tail after the last one) is one unit.
            if (position != 0)
            {
                position = data.Length;
                return false;
            }

            start = 0;
            length = data.Length;
            position = data.Length;
            return length > 0;
        }

        start = position + found + 3;
        var next = data[start..].IndexOf(StartCode);
        var end = next < 0 ? data.Length : start + next;
        position = end;

        // A four-byte start code (00 00 00 01) leaves its leading zero at the end of the previous unit.
        while (end > start && data[end - 1] == 0)
        {
            end--;
        }

        length = end - start;
        return true;
    }

    /// <summary>Enumerator over NAL units (no allocations).</summary>
    internal ref struct NalEnumerator
    {
        private readonly ReadOnlySpan<byte> _data;
        private int _position;

        public NalEnumerator(ReadOnlySpan<byte> data)
        {
            _data = data;
            _position = 0;
            Current = default;
        }

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly NalEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            while (TryFindNext(_data, ref _position, out var start, out var length))
            {
                if (length > 0)
                {
                    Current = _data.Slice(start, length);
                    return true;
                }
            }

            return false;
        }
    }
}
