namespace Relay.Server.Codecs;

/// <summary>H.264 bitstream facts Relay needs: NAL unit types and the SPS fields for the SDP and the status.</summary>
internal static class H264
{
    public const int NalSlice = 1;
    public const int NalIdr = 5;
    public const int NalSei = 6;
    public const int NalSps = 7;
    public const int NalPps = 8;
    public const int NalAud = 9;
    public const int NalStapA = 24;
    public const int NalFuA = 28;

    /// <summary>Gets the NAL unit type of a unit's first byte.</summary>
    public static int NalType(byte header) => header & 0x1F;

    /// <summary>Parses a sequence parameter set (ITU-T H.264 §7.3.2.1.1), NAL header included.</summary>
    /// <exception cref="FormatException">The SPS is not an SPS or is truncated.</exception>
    public static SequenceParameterSet ParseSps(ReadOnlySpan<byte> nal)
    {
        if (nal.Length < 4 || NalType(nal[0]) != NalSps)
        {
            throw new FormatException("Not an H.264 SPS.");
        }

        var r = new BitReader(nal[1..]);
        var profileIdc = (int)r.ReadBits(8);
        var constraints = (int)r.ReadBits(8);
        var levelIdc = (int)r.ReadBits(8);
        r.ReadUe(); // seq_parameter_set_id

        var chromaFormatIdc = 1;
        var separateColourPlane = false;
        int bitDepthLuma = 8, bitDepthChroma = 8;
        if (HasChromaFormat(profileIdc))
        {
            chromaFormatIdc = (int)r.ReadUe();
            if (chromaFormatIdc == 3)
            {
                separateColourPlane = r.ReadBit();
            }

            bitDepthLuma = 8 + (int)r.ReadUe();
            bitDepthChroma = 8 + (int)r.ReadUe();
            r.ReadBit(); // qpprime_y_zero_transform_bypass_flag
            if (r.ReadBit())
            {
                // seq_scaling_matrix_present_flag: skip the scaling lists (§7.3.2.1.1.1).
                var lists = chromaFormatIdc != 3 ? 8 : 12;
                for (var i = 0; i < lists; i++)
                {
                    if (r.ReadBit())
                    {
                        SkipScalingList(ref r, i < 6 ? 16 : 64);
                    }
                }
            }
        }

        r.ReadUe(); // log2_max_frame_num_minus4
        var picOrderCntType = r.ReadUe();
        if (picOrderCntType == 0)
        {
            r.ReadUe(); // log2_max_pic_order_cnt_lsb_minus4
        }
        else if (picOrderCntType == 1)
        {
            r.ReadBit(); // delta_pic_order_always_zero_flag
            r.ReadSe(); // offset_for_non_ref_pic
            r.ReadSe(); // offset_for_top_to_bottom_field
            var cycle = r.ReadUe();
            for (var i = 0; i < cycle; i++)
            {
                r.ReadSe();
            }
        }

        r.ReadUe(); // max_num_ref_frames
        r.ReadBit(); // gaps_in_frame_num_value_allowed_flag
        var widthInMbs = (int)r.ReadUe() + 1;
        var heightInMapUnits = (int)r.ReadUe() + 1;
        var frameMbsOnly = r.ReadBit();
        if (!frameMbsOnly)
        {
            r.ReadBit(); // mb_adaptive_frame_field_flag
        }

        r.ReadBit(); // direct_8x8_inference_flag
        int cropLeft = 0, cropRight = 0, cropTop = 0, cropBottom = 0;
        if (r.ReadBit())
        {
            cropLeft = (int)r.ReadUe();
            cropRight = (int)r.ReadUe();
            cropTop = (int)r.ReadUe();
            cropBottom = (int)r.ReadUe();
        }

        // Table 6-1 and equations 7-19 .. 7-22.
        var chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
        var subWidthC = chromaFormatIdc == 3 ? 1 : 2;
        var subHeightC = chromaFormatIdc == 1 ? 2 : 1;
        var cropUnitX = chromaArrayType == 0 ? 1 : subWidthC;
        var cropUnitY = (chromaArrayType == 0 ? 1 : subHeightC) * (frameMbsOnly ? 1 : 2);
        var width = (widthInMbs * 16) - (cropUnitX * (cropLeft + cropRight));
        var height = ((frameMbsOnly ? 1 : 2) * heightInMapUnits * 16) - (cropUnitY * (cropTop + cropBottom));
        if (width <= 0 || height <= 0)
        {
            throw new FormatException("H.264 SPS has an empty picture.");
        }

        return new SequenceParameterSet(profileIdc, constraints, levelIdc, width, height, chromaFormatIdc, bitDepthLuma, bitDepthChroma, ReadFrameRate(ref r));
    }

    /// <summary>
    /// Reads the frame rate from the VUI's timing information (§E.1.1), if the SPS carries it: time_scale over two
    /// num_units_in_tick (a tick is a field). Null when absent, zero or cut short; the picture size stays valid.
    /// </summary>
    private static double? ReadFrameRate(ref BitReader r)
    {
        try
        {
            if (!r.ReadBit())
            {
                return null; // vui_parameters_present_flag
            }

            if (r.ReadBit() && r.ReadBits(8) == 255)
            {
                r.Skip(32); // aspect_ratio_idc Extended_SAR: sar_width, sar_height
            }

            if (r.ReadBit())
            {
                r.ReadBit(); // overscan_appropriate_flag
            }

            if (r.ReadBit())
            {
                r.Skip(4); // video_format, video_full_range_flag
                if (r.ReadBit())
                {
                    r.Skip(24); // colour_primaries, transfer_characteristics, matrix_coefficients
                }
            }

            if (r.ReadBit())
            {
                r.ReadUe(); // chroma_sample_loc_type_top_field
                r.ReadUe(); // chroma_sample_loc_type_bottom_field
            }

            if (!r.ReadBit())
            {
                return null; // timing_info_present_flag
            }

            var unitsInTick = r.ReadBits(32);
            var timeScale = r.ReadBits(32);
            return unitsInTick == 0 || timeScale == 0 ? null : Math.Round(timeScale / (2.0 * unitsInTick), 3);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Tells whether an SPS of this profile carries chroma_format_idc and bit depths (§7.3.2.1.1).</summary>
    public static bool HasChromaFormat(int profileIdc) =>
        profileIdc is 100 or 110 or 122 or 244 or 44 or 83 or 86 or 118 or 128 or 138 or 139 or 134 or 135;

    /// <summary>
    /// Tells whether an SEI NAL unit (header included) carries a recovery point message (payload type 6, ITU-T H.264
    /// §D.1.8): an encoder that refreshes the picture gradually (intra refresh) marks with it where a decoder can start,
    /// in place of IDR pictures it may never send.
    /// </summary>
    public static bool HasRecoveryPoint(ReadOnlySpan<byte> sei)
    {
        const int RecoveryPoint = 6;
        var r = new BitReader(sei.Length > 0 ? sei[1..] : sei);
        while (true)
        {
            // Every pass reads at least two bytes or returns, so the loop ends with the data.
            if (!TryReadSeiNumber(ref r, out var type) || !TryReadSeiNumber(ref r, out var size))
            {
                return false; // the rbsp trailing bits, or a truncated message
            }

            if (type == RecoveryPoint)
            {
                return true;
            }

            for (var i = 0; i < size; i++)
            {
                if (!r.TryReadByte(out _))
                {
                    return false;
                }
            }
        }
    }

    // An SEI payload type or size: 0xFF bytes add 255 each, the first other byte ends it (§7.3.2.3.1).
    private static bool TryReadSeiNumber(ref BitReader r, out int value)
    {
        value = 0;
        byte b;
        do
        {
            if (!r.TryReadByte(out b))
            {
                return false;
            }

            value += b;
        }
        while (b == 0xFF);
        return true;
    }

    private static void SkipScalingList(ref BitReader r, int size)
    {
        int last = 8, next = 8;
        for (var j = 0; j < size; j++)
        {
            if (next != 0)
            {
                next = (last + r.ReadSe() + 256) % 256;
            }

            last = next == 0 ? last : next;
        }
    }

    /// <summary>The SPS fields Relay uses.</summary>
    /// <param name="ProfileIdc">profile_idc.</param>
    /// <param name="Constraints">The constraint_set flags byte.</param>
    /// <param name="LevelIdc">level_idc.</param>
    /// <param name="Width">Cropped picture width.</param>
    /// <param name="Height">Cropped picture height.</param>
    /// <param name="ChromaFormatIdc">chroma_format_idc (1 = 4:2:0).</param>
    /// <param name="BitDepthLuma">Luma bit depth.</param>
    /// <param name="BitDepthChroma">Chroma bit depth.</param>
    /// <param name="FrameRate">Frames per second from the VUI timing information, when present.</param>
    internal readonly record struct SequenceParameterSet(int ProfileIdc, int Constraints, int LevelIdc, int Width, int Height, int ChromaFormatIdc = 1, int BitDepthLuma = 8, int BitDepthChroma = 8, double? FrameRate = null)
    {
        /// <summary>Gets the RFC 6184 profile-level-id (six hex digits).</summary>
        public string ProfileLevelId => $"{ProfileIdc:X2}{Constraints:X2}{LevelIdc:X2}";
    }
}
