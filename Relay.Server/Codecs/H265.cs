namespace Relay.Server.Codecs;

/// <summary>H.265 bitstream facts Relay needs: NAL unit types and the SPS picture size.</summary>
internal static class H265
{
    public const int NalIdrWRadl = 19;
    public const int NalIdrNLp = 20;
    public const int NalCra = 21;
    public const int NalVps = 32;
    public const int NalSps = 33;
    public const int NalPps = 34;
    public const int NalAud = 35;
    public const int NalAggregation = 48;
    public const int NalFragmentation = 49;

    /// <summary>Gets the NAL unit type of a unit's first header byte.</summary>
    public static int NalType(byte header) => (header >> 1) & 0x3F;

    /// <summary>Parses the start of a sequence parameter set (ITU-T H.265 §7.3.2.2), 2-byte NAL header included.</summary>
    /// <exception cref="FormatException">The SPS is not an SPS or is truncated.</exception>
    public static SequenceParameterSet ParseSps(ReadOnlySpan<byte> nal)
    {
        if (nal.Length < 6 || NalType(nal[0]) != NalSps)
        {
            throw new FormatException("Not an H.265 SPS.");
        }

        var r = new BitReader(nal[2..]);
        r.ReadBits(4); // sps_video_parameter_set_id
        var maxSubLayersMinus1 = (int)r.ReadBits(3);
        r.ReadBit(); // sps_temporal_id_nesting_flag

        // profile_tier_level(1, sps_max_sub_layers_minus1), §7.3.3
        var profileSpace = (int)r.ReadBits(2);
        var tier = (int)r.ReadBits(1);
        var profileIdc = (int)r.ReadBits(5);
        var compatibility = r.ReadBits(32); // general_profile_compatibility_flag[32]
        var constraints = ((ulong)r.ReadBits(16) << 32) | r.ReadBits(32); // progressive .. inbld flags, 48 bits
        var levelIdc = (int)r.ReadBits(8);
        var subLayerProfilePresent = new bool[8];
        var subLayerLevelPresent = new bool[8];
        for (var i = 0; i < maxSubLayersMinus1; i++)
        {
            subLayerProfilePresent[i] = r.ReadBit();
            subLayerLevelPresent[i] = r.ReadBit();
        }

        if (maxSubLayersMinus1 > 0)
        {
            for (var i = maxSubLayersMinus1; i < 8; i++)
            {
                r.Skip(2); // reserved_zero_2bits
            }
        }

        for (var i = 0; i < maxSubLayersMinus1; i++)
        {
            if (subLayerProfilePresent[i])
            {
                r.Skip(88);
            }

            if (subLayerLevelPresent[i])
            {
                r.Skip(8);
            }
        }

        r.ReadUe(); // sps_seq_parameter_set_id
        var chromaFormatIdc = (int)r.ReadUe();
        if (chromaFormatIdc == 3)
        {
            r.ReadBit(); // separate_colour_plane_flag
        }

        var width = (int)r.ReadUe();
        var height = (int)r.ReadUe();
        if (r.ReadBit())
        {
            // conformance_window_flag: offsets in chroma units (Table 6-1).
            var subWidthC = chromaFormatIdc is 1 or 2 ? 2 : 1;
            var subHeightC = chromaFormatIdc == 1 ? 2 : 1;
            var left = (int)r.ReadUe();
            var right = (int)r.ReadUe();
            var top = (int)r.ReadUe();
            var bottom = (int)r.ReadUe();
            width -= subWidthC * (left + right);
            height -= subHeightC * (top + bottom);
        }

        if (width <= 0 || height <= 0)
        {
            throw new FormatException("H.265 SPS has an empty picture.");
        }

        var bitDepthLuma = 8 + (int)r.ReadUe();
        var bitDepthChroma = 8 + (int)r.ReadUe();
        return new SequenceParameterSet(profileIdc, tier, levelIdc, width, height)
        {
            ProfileSpace = profileSpace,
            CompatibilityFlags = compatibility,
            ConstraintFlags = constraints,
            ChromaFormatIdc = chromaFormatIdc,
            BitDepthLuma = bitDepthLuma,
            BitDepthChroma = bitDepthChroma,
        };
    }

    /// <summary>The SPS fields Relay uses.</summary>
    internal readonly record struct SequenceParameterSet(int ProfileIdc, int Tier, int LevelIdc, int Width, int Height)
    {
        /// <summary>Gets general_profile_space.</summary>
        public int ProfileSpace { get; init; }

        /// <summary>Gets the 32 general_profile_compatibility_flags, flag 0 in the most significant bit.</summary>
        public uint CompatibilityFlags { get; init; }

        /// <summary>Gets the 48 bits of general constraint flags that follow the compatibility flags.</summary>
        public ulong ConstraintFlags { get; init; }

        /// <summary>Gets chroma_format_idc (1 = 4:2:0).</summary>
        public int ChromaFormatIdc { get; init; } = 1;

        /// <summary>Gets the luma bit depth.</summary>
        public int BitDepthLuma { get; init; } = 8;

        /// <summary>Gets the chroma bit depth.</summary>
        public int BitDepthChroma { get; init; } = 8;
    }
}
