using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>libglib-2.0: main context and loop, memory, errors, lists.</summary>
internal static unsafe partial class GLib
{
    // GMainContext *g_main_context_new (void);   (transfer full)
    [LibraryImport(Libs.GLib)]
    public static partial IntPtr g_main_context_new();

    // void g_main_context_unref (GMainContext *context);
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_context_unref(IntPtr context);

    // void g_main_context_push_thread_default (GMainContext *context);
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_context_push_thread_default(IntPtr context);

    // void g_main_context_pop_thread_default (GMainContext *context);
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_context_pop_thread_default(IntPtr context);

    // void g_main_context_invoke_full (GMainContext *context, gint priority, GSourceFunc function,
    //                                  gpointer data, GDestroyNotify notify);
    // Runs inline when called on the context's owner thread, otherwise queues an idle source.
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_context_invoke_full(
        IntPtr context,
        int priority,
        delegate* unmanaged[Cdecl]<IntPtr, int> function,
        IntPtr data,
        delegate* unmanaged[Cdecl]<IntPtr, void> notify);

    // GSource *g_main_context_find_source_by_id (GMainContext *context, guint source_id);   (transfer none)
    [LibraryImport(Libs.GLib)]
    public static partial IntPtr g_main_context_find_source_by_id(IntPtr context, uint sourceId);

    // void g_source_destroy (GSource *source);
    [LibraryImport(Libs.GLib)]
    public static partial void g_source_destroy(IntPtr source);

    // GMainLoop *g_main_loop_new (GMainContext *context, gboolean is_running);   (transfer full)
    [LibraryImport(Libs.GLib)]
    public static partial IntPtr g_main_loop_new(IntPtr context, int isRunning);

    // void g_main_loop_run (GMainLoop *loop);
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_loop_run(IntPtr loop);

    // void g_main_loop_quit (GMainLoop *loop);
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_loop_quit(IntPtr loop);

    // void g_main_loop_unref (GMainLoop *loop);
    [LibraryImport(Libs.GLib)]
    public static partial void g_main_loop_unref(IntPtr loop);

    // void g_free (gpointer mem);
    [LibraryImport(Libs.GLib)]
    public static partial void g_free(IntPtr mem);

    // void g_error_free (GError *error);
    [LibraryImport(Libs.GLib)]
    public static partial void g_error_free(IntPtr error);

    // const gchar *g_quark_to_string (GQuark quark);   (static string, never free)
    [LibraryImport(Libs.GLib)]
    public static partial IntPtr g_quark_to_string(uint quark);

    // void g_list_free (GList *list);
    [LibraryImport(Libs.GLib)]
    public static partial void g_list_free(IntPtr list);

    /// <summary>Copies a transfer-full <c>gchar*</c> into a managed string and frees it.</summary>
    public static string? TakeString(IntPtr str)
    {
        if (str == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(str);
        }
        finally
        {
            g_free(str);
        }
    }

    /// <summary>Copies a transfer-none <c>const gchar*</c>; the native string is not freed.</summary>
    public static string? PeekString(IntPtr str) => str == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(str);
}
