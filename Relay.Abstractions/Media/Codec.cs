namespace Relay.Media;

/// <summary>The encoding of a track's access units.</summary>
public enum Codec
{
    /// <summary>H.264 / AVC; access units are Annex B byte-stream, parameter sets in-band before every keyframe.</summary>
    H264,

    /// <summary>H.265 / HEVC; access units are Annex B byte-stream, parameter sets in-band before every keyframe.</summary>
    H265,

    /// <summary>MPEG-4 AAC; one raw AAC frame (no ADTS header) per access unit.</summary>
    Aac,

    /// <summary>G.711 µ-law (RTP payload type 0).</summary>
    Pcmu,

    /// <summary>G.711 A-law (RTP payload type 8).</summary>
    Pcma,

    /// <summary>Opus; one Opus packet per access unit.</summary>
    Opus,

    /// <summary>
    /// A track Relay does not parse (for example ONVIF metadata); each access unit is one RTP payload,
    /// relayed unchanged with the camera's own rtpmap and fmtp.
    /// </summary>
    Passthrough,
}
