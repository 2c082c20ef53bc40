using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>libgobject-2.0: references and signals.</summary>
internal static unsafe partial class GObject
{
    // gpointer g_object_ref (gpointer object);
    [LibraryImport(Libs.GObject)]
    public static partial IntPtr g_object_ref(IntPtr obj);

    // void g_object_unref (gpointer object);
    [LibraryImport(Libs.GObject)]
    public static partial void g_object_unref(IntPtr obj);

    // gulong g_signal_connect_data (gpointer instance, const gchar *detailed_signal, GCallback c_handler,
    //                               gpointer data, GClosureNotify destroy_data, GConnectFlags connect_flags);
    // c_handler's real signature depends on the signal, so it is passed untyped.
    // destroy_data is called with (data, closure) when the handler is disconnected or the instance finalized.
    [LibraryImport(Libs.GObject, StringMarshalling = StringMarshalling.Utf8)]
    public static partial CULong g_signal_connect_data(
        IntPtr instance,
        string detailedSignal,
        IntPtr handler,
        IntPtr data,
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void> destroyData,
        int connectFlags);

    // void g_signal_handler_disconnect (gpointer instance, gulong handler_id);
    [LibraryImport(Libs.GObject)]
    public static partial void g_signal_handler_disconnect(IntPtr instance, CULong handlerId);
}
