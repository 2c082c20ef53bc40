using Relay.Media;

namespace Relay.Server.Push;

/// <summary>
/// Writes a stream's H.264 video and AAC audio as FLV tag bodies (FLV file format, version 10.1, annex E), which are
/// also the payloads of RTMP's audio, video and data messages: the decoder configurations and metadata first, then one
/// body per access unit. Relay muxes, so an RTMP push runs no parser and no muxer.
/// </summary>
internal sealed class FlvWriter
{
    /// <summary>The FLV tag type and RTMP message type of audio.</summary>
    public const byte AudioType = 8;

    /// <summary>The FLV tag type and RTMP message type of video.</summary>
    public const byte VideoType = 9;

    /// <summary>The FLV tag type of script data, and the RTMP message type of AMF0 data.</summary>
    public const byte ScriptType = 18;

    private const int VideoDataHeaderSize = 5; // frame type and codec, AVCPacketType, composition time
    private const int AudioDataHeaderSize = 2; // sound format and flags, AACPacketType
    private const byte AacSoundFlags = (10 << 4) | (3 << 2) | (1 << 1) | 1; // AAC; rate, size and channels are fixed for AAC

    private readonly Hls.Fmp4Track _video;
    private readonly TrackInfo? _audio;

    /// <param name="video">An H.264 track with known parameter sets.</param>
    /// <param name="audio">An AAC track with its AudioSpecificConfig, or null.</param>
    /// <exception cref="FormatException">The video's parameter sets cannot be parsed.</exception>
    public FlvWriter(TrackInfo video, TrackInfo? audio)
    {
        _video = Hls.Fmp4Track.Create(video.Index, video);
        _audio = audio;
    }

    /// <summary>Gets the tracks written.</summary>
    public IEnumerable<int> Tracks => _audio is null ? [_video.Info.Index] : [_video.Info.Index, _audio.Index];

    /// <summary>
    /// Gets what goes before any media, at time zero: the <c>onMetaData</c> script data, then the AVC and AAC sequence
    /// headers (the decoder configurations).
    /// </summary>
    public IReadOnlyList<(byte Type, byte[] Body)> Headers()
    {
        var headers = new List<(byte, byte[])> { (ScriptType, Metadata()) };
        var record = _video.DecoderConfigurationRecord();
        var video = new byte[VideoDataHeaderSize + record.Length];
        video[0] = (1 << 4) | 7; // keyframe, AVC
        record.CopyTo(video.AsSpan(VideoDataHeaderSize)); // AVCPacketType 0 (sequence header), composition time 0
        headers.Add((VideoType, video));
        if (_audio is not null)
        {
            var config = _audio.AudioConfig.Span;
            var audio = new byte[AudioDataHeaderSize + config.Length];
            audio[0] = AacSoundFlags; // AACPacketType 0 (sequence header)
            config.CopyTo(audio.AsSpan(AudioDataHeaderSize));
            headers.Add((AudioType, audio));
        }

        return headers;
    }

    /// <summary>Gets the size of the body <see cref="Write"/> makes of <paramref name="unit"/> (of a written track).</summary>
    public int BodySize(AccessUnit unit) =>
        unit.TrackIndex == _video.Info.Index ? VideoDataHeaderSize + _video.SampleSize(unit) : AudioDataHeaderSize + unit.Length;

    /// <summary>Writes <paramref name="unit"/> into <paramref name="body"/>, exactly <see cref="BodySize"/> bytes.</summary>
    /// <returns>The tag type: <see cref="VideoType"/> or <see cref="AudioType"/>.</returns>
    public byte Write(AccessUnit unit, Span<byte> body)
    {
        if (unit.TrackIndex != _video.Info.Index)
        {
            body[0] = AacSoundFlags;
            body[1] = 1; // AACPacketType: raw
            unit.Data.Span.CopyTo(body[AudioDataHeaderSize..]);
            return AudioType;
        }

        var composition = (int)Math.Round((unit.Pts - unit.Dts).TotalMilliseconds);
        body[0] = (byte)((unit.IsKeyframe ? 1 : 2) << 4 | 7); // keyframe or inter frame, AVC
        body[1] = 1; // AVCPacketType: NAL units
        body[2] = (byte)(composition >> 16); // signed 24 bits
        body[3] = (byte)(composition >> 8);
        body[4] = (byte)composition;
        _video.WriteSample(unit, body[VideoDataHeaderSize..]);
        return VideoType;
    }

    /// <summary>The <c>onMetaData</c> script data: the name and an ECMA array of the stream's properties.</summary>
    private byte[] Metadata()
    {
        var properties = new List<(string Name, object Value)> { ("duration", 0.0), ("videocodecid", 7.0) };
        if (_video.Info.Width is { } width && _video.Info.Height is { } height)
        {
            properties.Add(("width", (double)width));
            properties.Add(("height", (double)height));
        }

        if (_video.Info.FrameRate is { } rate)
        {
            properties.Add(("framerate", rate));
        }

        if (_audio is not null)
        {
            properties.Add(("audiocodecid", 10.0));
            properties.Add(("audiosamplerate", (double)_audio.ClockRate));
            properties.Add(("audiosamplesize", 16.0));
            properties.Add(("stereo", _audio.Channels > 1));
        }

        properties.Add(("encoder", "Relay"));
        return new Amf0.Writer().String("onMetaData").EcmaArray(properties).ToArray();
    }
}
