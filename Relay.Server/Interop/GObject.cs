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

    // GType registration, for the few element types Relay defines itself (see GStreamer/RtpTimestamper.cs).

    // void g_type_query (GType type, GTypeQuery *query);   query: { GType type; const gchar *name; guint class_size; guint instance_size; }
    [LibraryImport(Libs.GObject)]
    public static partial void g_type_query(nuint type, GTypeQuery* query);

    // GType g_type_register_static_simple (GType parent_type, const gchar *type_name, guint class_size,
    //                                      GClassInitFunc class_init, guint instance_size, GInstanceInitFunc instance_init, GTypeFlags flags);
    [LibraryImport(Libs.GObject, StringMarshalling = StringMarshalling.Utf8)]
    public static partial nuint g_type_register_static_simple(
        nuint parentType,
        string typeName,
        uint classSize,
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void> classInit,
        uint instanceSize,
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, void> instanceInit,
        int flags);

    // GObject *g_object_new_with_properties (GType object_type, guint n_properties, const char *names[], const GValue values[]);
    [LibraryImport(Libs.GObject)]
    public static partial IntPtr g_object_new_with_properties(nuint type, uint nProperties, IntPtr names, IntPtr values);

    // GParamSpec *g_param_spec_uint (const gchar *name, const gchar *nick, const gchar *blurb, guint minimum, guint maximum,
    //                                guint default_value, GParamFlags flags);
    [LibraryImport(Libs.GObject, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr g_param_spec_uint(string name, string nick, string blurb, uint minimum, uint maximum, uint defaultValue, int flags);

    // void g_object_class_install_property (GObjectClass *oclass, guint property_id, GParamSpec *pspec);
    [LibraryImport(Libs.GObject)]
    public static partial void g_object_class_install_property(IntPtr objectClass, uint propertyId, IntPtr pspec);

    // void g_value_set_uint (GValue *value, guint v_uint);
    [LibraryImport(Libs.GObject)]
    public static partial void g_value_set_uint(IntPtr value, uint v);

    // void g_object_set_data_full (GObject *object, const gchar *key, gpointer data, GDestroyNotify destroy);
    [LibraryImport(Libs.GObject, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void g_object_set_data_full(IntPtr obj, string key, IntPtr data, delegate* unmanaged[Cdecl]<IntPtr, void> destroy);
}

/// <summary>GTypeQuery.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GTypeQuery
{
    public nuint Type;
    public IntPtr TypeName;
    public uint ClassSize;
    public uint InstanceSize;
}
