using System.Runtime.InteropServices;
using Relay.Server.Interop;

namespace Relay.Server.GStreamer;

/// <summary>The GError domains GStreamer reports (gst-*-error-quark).</summary>
internal enum GstErrorDomain
{
    Unknown,
    Core,
    Library,
    Resource,
    Stream,
}

/// <summary>GstResourceError codes (gst/gsterror.h) that Relay classifies.</summary>
internal static class GstResourceError
{
    public const int Failed = 1;
    public const int NotFound = 3;
    public const int Busy = 4;
    public const int OpenRead = 5;
    public const int OpenWrite = 6;
    public const int OpenReadWrite = 7;
    public const int Close = 8;
    public const int Read = 9;
    public const int Write = 10;
    public const int Settings = 13;
    public const int NotAuthorized = 15;
}

/// <summary>A GStreamer call failed; carries the GError domain and code when there was one.</summary>
internal sealed class GstException : Exception
{
    public GstException(string message)
        : base(message)
    {
    }

    public GstException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GstException(string message, GstErrorDomain domain, int code, string? debug)
        : base(message)
    {
        Domain = domain;
        Code = code;
        Debug = debug;
    }

    public GstException()
    {
    }

    /// <summary>Gets the GError domain.</summary>
    public GstErrorDomain Domain { get; }

    /// <summary>Gets the GError code within <see cref="Domain"/>.</summary>
    public int Code { get; }

    /// <summary>Gets GStreamer's debug detail, when any.</summary>
    public string? Debug { get; }

    /// <summary>Builds an exception from a (transfer full) GError and frees it.</summary>
    /// <param name="error">The GError*, may be NULL.</param>
    /// <param name="context">What was being done, for the message.</param>
    /// <returns>The exception.</returns>
    public static GstException FromGError(IntPtr error, string context)
    {
        if (error == IntPtr.Zero)
        {
            return new GstException(context);
        }

        try
        {
            var (domain, code, message) = ReadGError(error);
            return new GstException($"{context}: {message}", domain, code, debug: null);
        }
        finally
        {
            GLib.g_error_free(error);
        }
    }

    /// <summary>Reads a borrowed GError's domain, code and message.</summary>
    public static unsafe (GstErrorDomain Domain, int Code, string Message) ReadGError(IntPtr error)
    {
        var quark = *(uint*)((byte*)error + Offsets.ErrorDomain);
        var code = *(int*)((byte*)error + Offsets.ErrorCode);
        var message = Marshal.PtrToStringUTF8(*(IntPtr*)((byte*)error + Offsets.ErrorMessage)) ?? string.Empty;
        var domain = GLib.PeekString(GLib.g_quark_to_string(quark)) switch
        {
            "gst-core-error-quark" => GstErrorDomain.Core,
            "gst-library-error-quark" => GstErrorDomain.Library,
            "gst-resource-error-quark" => GstErrorDomain.Resource,
            "gst-stream-error-quark" => GstErrorDomain.Stream,
            _ => GstErrorDomain.Unknown,
        };
        return (domain, code, message);
    }
}
