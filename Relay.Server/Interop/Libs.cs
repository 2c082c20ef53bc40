using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

// Every signature must be blittable: anything that would need runtime marshalling fails to compile.
[assembly: DisableRuntimeMarshalling]

namespace Relay.Server.Interop;

/// <summary>
/// Sonames, enum values and struct layouts of Debian 12's GLib 2.74 and GStreamer 1.22 (LP64).
/// The offsets are those of C macros (GST_BUFFER_PTS and friends) that have no function; they
/// were printed with offsetof() and are stable across the GStreamer 1.x ABI. Print them again (a few lines of C
/// printing offsetof() of each field) before porting to another distribution or architecture.
/// </summary>
internal static class Libs
{
    public const string GLib = "libglib-2.0.so.0";
    public const string GObject = "libgobject-2.0.so.0";
    public const string Gst = "libgstreamer-1.0.so.0";
    public const string GstApp = "libgstapp-1.0.so.0";
    public const string GstSdp = "libgstsdp-1.0.so.0";
    public const string GstRtspServer = "libgstrtspserver-1.0.so.0";
    public const string GstRtsp = "libgstrtsp-1.0.so.0";
    public const string Gio = "libgio-2.0.so.0";
    public const string LibC = "libc.so.6";
}

/// <summary>GstState.</summary>
internal enum GstState
{
    VoidPending = 0,
    Null = 1,
    Ready = 2,
    Paused = 3,
    Playing = 4,
}

/// <summary>GstStateChangeReturn.</summary>
internal enum GstStateChangeReturn
{
    Failure = 0,
    Success = 1,
    Async = 2,
    NoPreroll = 3,
}

/// <summary>GstMessageType flags (the ones Relay reads).</summary>
[Flags]
internal enum GstMessageType
{
    Eos = 1 << 0,
    Error = 1 << 1,
    Warning = 1 << 2,
    StateChanged = 1 << 6,
    Element = 1 << 15,
}

/// <summary>GstBusSyncReply.</summary>
internal enum GstBusSyncReply
{
    Drop = 0,
    Pass = 1,
}

/// <summary>GstFlowReturn (the values Relay returns or checks).</summary>
internal enum GstFlowReturn
{
    Ok = 0,
    NotLinked = -1,
    Flushing = -2,
    Eos = -3,
    Error = -5,
}

/// <summary>GstPadLinkReturn.</summary>
internal enum GstPadLinkReturn
{
    Ok = 0,
    WrongHierarchy = -1,
    WasLinked = -2,
    WrongDirection = -3,
    NoFormat = -4,
    NoSched = -5,
    Refused = -6,
}

/// <summary>Offsets of struct fields that are only reachable through C macros.</summary>
internal static class Offsets
{
    /// <summary>GST_MESSAGE_TYPE (GstMessageType, int).</summary>
    public const int MessageType = 64;

    /// <summary>GST_MESSAGE_SRC (GstObject*).</summary>
    public const int MessageSrc = 80;

    /// <summary>GST_MINI_OBJECT_FLAGS / GST_BUFFER_FLAGS (guint).</summary>
    public const int MiniObjectFlags = 16;

    /// <summary>GST_EVENT_TYPE (GstEventType, int).</summary>
    public const int EventType = 64;

    /// <summary>GstObject.flags (guint32): GST_OBJECT_FLAG_SET and GST_PAD_SET_PROXY_CAPS write here.</summary>
    public const int ObjectFlags = 48;

    /// <summary>GObjectClass.set_property.</summary>
    public const int ObjectClassSetProperty = 24;

    /// <summary>GObjectClass.get_property.</summary>
    public const int ObjectClassGetProperty = 32;

    /// <summary>GstElementClass.request_new_pad.</summary>
    public const int ElementClassRequestNewPad = 240;

    /// <summary>GST_BUFFER_PTS (GstClockTime).</summary>
    public const int BufferPts = 72;

    /// <summary>GST_BUFFER_DTS (GstClockTime).</summary>
    public const int BufferDts = 80;

    /// <summary>GST_BUFFER_DURATION (GstClockTime).</summary>
    public const int BufferDuration = 88;

    /// <summary>GError.domain (GQuark = guint32).</summary>
    public const int ErrorDomain = 0;

    /// <summary>GError.code (gint).</summary>
    public const int ErrorCode = 4;

    /// <summary>GError.message (gchar*).</summary>
    public const int ErrorMessage = 8;

    /// <summary>GList.data.</summary>
    public const int ListData = 0;

    /// <summary>GList.next.</summary>
    public const int ListNext = 8;
}

/// <summary>Constants from the GStreamer headers.</summary>
internal static class GstConstants
{
    /// <summary>GST_CLOCK_TIME_NONE.</summary>
    public const ulong ClockTimeNone = ulong.MaxValue;

    /// <summary>GST_BUFFER_FLAG_DELTA_UNIT: the buffer cannot be decoded on its own.</summary>
    public const uint BufferFlagDeltaUnit = 1 << 13;

    /// <summary>GST_BUFFER_FLAG_DISCONT.</summary>
    public const uint BufferFlagDiscont = 1 << 6;

    /// <summary>GST_MAP_READ.</summary>
    public const int MapRead = 1;

    /// <summary>GST_MAP_WRITE.</summary>
    public const int MapWrite = 2;

    /// <summary>G_PRIORITY_DEFAULT.</summary>
    public const int PriorityDefault = 0;

    /// <summary>GST_PAD_SRC (GstPadDirection).</summary>
    public const int PadSrc = 1;

    /// <summary>GST_PAD_SINK (GstPadDirection).</summary>
    public const int PadSink = 2;

    /// <summary>GST_PAD_ALWAYS (GstPadPresence).</summary>
    public const int PadAlways = 0;

    /// <summary>GST_PAD_REQUEST (GstPadPresence).</summary>
    public const int PadRequest = 2;

    /// <summary>GST_PAD_FLAG_PROXY_CAPS: caps queries pass through the pad's element.</summary>
    public const uint PadFlagProxyCaps = 1 << 12;

    /// <summary>GST_PAD_FLAG_PROXY_ALLOCATION: allocation queries pass through the pad's element.</summary>
    public const uint PadFlagProxyAllocation = 1 << 13;

    /// <summary>GST_EVENT_CAPS (GstEventType).</summary>
    public const int EventCaps = 12814;
}

/// <summary>GstMapInfo (104 bytes on LP64). Only data and size are read.</summary>
[StructLayout(LayoutKind.Explicit, Size = 104)]
internal struct GstMapInfo
{
    [FieldOffset(16)] public IntPtr Data;
    [FieldOffset(24)] public nuint Size;
}

/// <summary>
/// GstAppSinkCallbacks. GStreamer 1.22 has eos, new_preroll, new_sample, new_event and three
/// reserved pointers; the struct is copied by gst_app_sink_set_callbacks, so a stack copy is fine.
/// One spare slot is kept zeroed so a newer library that reads a fourth callback sees NULL.
/// </summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GstAppSinkCallbacks
{
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void> Eos;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int> NewPreroll;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, int> NewSample;
    public IntPtr NewEvent;
    public IntPtr Reserved0;
    public IntPtr Reserved1;
    public IntPtr Reserved2;
    public IntPtr Spare;
}
