namespace Relay.Media;

/// <summary>What a track carries, as in an SDP <c>m=</c> line.</summary>
public enum MediaKind
{
    /// <summary>Video (<c>m=video</c>).</summary>
    Video,

    /// <summary>Audio (<c>m=audio</c>).</summary>
    Audio,

    /// <summary>Anything else, for example ONVIF metadata (<c>m=application</c>).</summary>
    Application,
}
