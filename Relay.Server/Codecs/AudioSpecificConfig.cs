namespace Relay.Server.Codecs;

/// <summary>The fields of an MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) that Relay needs.</summary>
/// <param name="ObjectType">audioObjectType (2 = AAC LC).</param>
/// <param name="SampleRate">Sampling frequency in Hz.</param>
/// <param name="Channels">channelConfiguration.</param>
internal readonly record struct AudioSpecificConfig(int ObjectType, int SampleRate, int Channels)
{
    private static readonly int[] SampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

    /// <summary>Parses an AudioSpecificConfig.</summary>
    /// <exception cref="FormatException">It is truncated or uses a reserved sampling index.</exception>
    public static AudioSpecificConfig Parse(ReadOnlySpan<byte> config)
    {
        if (config.Length < 2)
        {
            throw new FormatException("AudioSpecificConfig is shorter than 2 bytes.");
        }

        var r = new BitReader(config);
        var objectType = (int)r.ReadBits(5);
        if (objectType == 31)
        {
            objectType = 32 + (int)r.ReadBits(6);
        }

        var index = (int)r.ReadBits(4);
        int rate;
        if (index == 15)
        {
            rate = (int)r.ReadBits(24);
        }
        else if (index < SampleRates.Length)
        {
            rate = SampleRates[index];
        }
        else
        {
            throw new FormatException($"Reserved AAC sampling frequency index {index}.");
        }

        var channels = (int)r.ReadBits(4);
        return new AudioSpecificConfig(objectType, rate, channels);
    }
}
