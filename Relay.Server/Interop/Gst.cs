using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>libgstreamer-1.0: initialisation, elements, bins, pads, bus, messages, samples, buffers, caps.</summary>
internal static unsafe partial class Gst
{
    // gboolean gst_init_check (int *argc, char **argv[], GError **error);   (error: transfer full)
    [LibraryImport(Libs.Gst)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool gst_init_check(IntPtr argc, IntPtr argv, out IntPtr error);

    // gchar *gst_version_string (void);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_version_string();

    // GstElement *gst_pipeline_new (const gchar *name);   (transfer floating)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_pipeline_new(string? name);

    // GstElement *gst_element_factory_make (const gchar *factoryname, const gchar *name);   (transfer floating, nullable)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_element_factory_make(string factoryName, string? name);

    // GstElement *gst_parse_bin_from_description (const gchar *bin_description, gboolean ghost_unlinked_pads,
    //                                             GError **err);   (transfer floating; err: transfer full)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_parse_bin_from_description(string description, int ghostUnlinkedPads, out IntPtr error);

    // GstElement *gst_parse_launch (const gchar *pipeline_description, GError **error);   (transfer floating)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_parse_launch(string description, out IntPtr error);

    // gpointer gst_object_ref (gpointer object);
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_object_ref(IntPtr obj);

    // void gst_object_unref (gpointer object);
    [LibraryImport(Libs.Gst)]
    public static partial void gst_object_unref(IntPtr obj);

    // gpointer gst_object_ref_sink (gpointer object);   (sinks a floating ref, else adds one)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_object_ref_sink(IntPtr obj);

    // gchar *gst_object_get_name (GstObject *object);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_object_get_name(IntPtr obj);

    // gboolean gst_bin_add (GstBin *bin, GstElement *element);   (element: transfer floating)
    [LibraryImport(Libs.Gst)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool gst_bin_add(IntPtr bin, IntPtr element);

    // GstElement *gst_bin_get_by_name (GstBin *bin, const gchar *name);   (transfer full, nullable)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_bin_get_by_name(IntPtr bin, string name);

    // gboolean gst_element_set_locked_state (GstElement *element, gboolean locked_state);
    [LibraryImport(Libs.Gst)]
    public static partial int gst_element_set_locked_state(IntPtr element, int lockedState);

    // GstStateChangeReturn gst_element_set_state (GstElement *element, GstState state);
    [LibraryImport(Libs.Gst)]
    public static partial int gst_element_set_state(IntPtr element, int state);

    // GstStateChangeReturn gst_element_get_state (GstElement *element, GstState *state, GstState *pending,
    //                                             GstClockTime timeout);
    [LibraryImport(Libs.Gst)]
    public static partial int gst_element_get_state(IntPtr element, out int state, out int pending, ulong timeout);

    // gboolean gst_element_sync_state_with_parent (GstElement *element);
    [LibraryImport(Libs.Gst)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool gst_element_sync_state_with_parent(IntPtr element);

    // GstPad *gst_element_get_static_pad (GstElement *element, const gchar *name);   (transfer full, nullable)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_element_get_static_pad(IntPtr element, string name);

    // GstBus *gst_element_get_bus (GstElement *element);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_element_get_bus(IntPtr element);

    // GstClock *gst_element_get_clock (GstElement *element);   (transfer full, nullable)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_element_get_clock(IntPtr element);

    // GstClockTime gst_element_get_base_time (GstElement *element);
    [LibraryImport(Libs.Gst)]
    public static partial ulong gst_element_get_base_time(IntPtr element);

    // GstClockTime gst_clock_get_time (GstClock *clock);
    [LibraryImport(Libs.Gst)]
    public static partial ulong gst_clock_get_time(IntPtr clock);

    // gboolean gst_element_send_event (GstElement *element, GstEvent *event);   (event: transfer full)
    [LibraryImport(Libs.Gst)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool gst_element_send_event(IntPtr element, IntPtr evt);

    // GstEvent *gst_event_new_eos (void);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_event_new_eos();

    // GstPadLinkReturn gst_pad_link (GstPad *srcpad, GstPad *sinkpad);
    [LibraryImport(Libs.Gst)]
    public static partial int gst_pad_link(IntPtr srcPad, IntPtr sinkPad);

    // GstCaps *gst_pad_get_current_caps (GstPad *pad);   (transfer full, nullable)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_pad_get_current_caps(IntPtr pad);

    // GstCaps *gst_pad_query_caps (GstPad *pad, GstCaps *filter);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_pad_query_caps(IntPtr pad, IntPtr filter);

    // void gst_bus_set_sync_handler (GstBus *bus, GstBusSyncHandler func, gpointer user_data, GDestroyNotify notify);
    //   GstBusSyncReply (*GstBusSyncHandler) (GstBus *bus, GstMessage *message, gpointer user_data);
    //   Called on the thread that posts the message; the message is borrowed.
    [LibraryImport(Libs.Gst)]
    public static partial void gst_bus_set_sync_handler(
        IntPtr bus,
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> func,
        IntPtr userData,
        delegate* unmanaged[Cdecl]<IntPtr, void> notify);

    // void gst_message_parse_error (GstMessage *message, GError **gerror, gchar **debug);   (both transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_message_parse_error(IntPtr message, out IntPtr gerror, out IntPtr debug);

    // void gst_message_parse_warning (GstMessage *message, GError **gerror, gchar **debug);   (both transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_message_parse_warning(IntPtr message, out IntPtr gerror, out IntPtr debug);

    // void gst_message_parse_state_changed (GstMessage *message, GstState *oldstate, GstState *newstate,
    //                                       GstState *pending);
    [LibraryImport(Libs.Gst)]
    public static partial void gst_message_parse_state_changed(IntPtr message, out int oldState, out int newState, out int pending);

    // GstMiniObject *gst_mini_object_ref (GstMiniObject *mini_object);
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_mini_object_ref(IntPtr mini);

    // void gst_mini_object_unref (GstMiniObject *mini_object);
    [LibraryImport(Libs.Gst)]
    public static partial void gst_mini_object_unref(IntPtr mini);

    // GstBuffer *gst_sample_get_buffer (GstSample *sample);   (transfer none)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_sample_get_buffer(IntPtr sample);

    // GstCaps *gst_sample_get_caps (GstSample *sample);   (transfer none)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_sample_get_caps(IntPtr sample);

    // gboolean gst_buffer_map (GstBuffer *buffer, GstMapInfo *info, GstMapFlags flags);
    [LibraryImport(Libs.Gst)]
    [return: MarshalAs(UnmanagedType.Bool)]
    public static partial bool gst_buffer_map(IntPtr buffer, GstMapInfo* info, int flags);

    // void gst_buffer_unmap (GstBuffer *buffer, GstMapInfo *info);
    [LibraryImport(Libs.Gst)]
    public static partial void gst_buffer_unmap(IntPtr buffer, GstMapInfo* info);

    // GstBuffer *gst_buffer_new_allocate (GstAllocator *allocator, gsize size, GstAllocationParams *params);
    //   (transfer full, nullable)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_buffer_new_allocate(IntPtr allocator, nuint size, IntPtr parameters);

    // GstElementFactory *gst_element_factory_find (const gchar *name);   (transfer full, nullable)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_element_factory_find(string name);

    // gsize gst_buffer_get_size (GstBuffer *buffer);
    [LibraryImport(Libs.Gst)]
    public static partial nuint gst_buffer_get_size(IntPtr buffer);

    // gsize gst_buffer_extract (GstBuffer *buffer, gsize offset, gpointer dest, gsize size);
    //   Copies without merging the buffer's memories; returns the number of bytes copied.
    [LibraryImport(Libs.Gst)]
    public static partial nuint gst_buffer_extract(IntPtr buffer, nuint offset, byte* dest, nuint size);

    // gsize gst_buffer_fill (GstBuffer *buffer, gsize offset, gconstpointer src, gsize size);
    [LibraryImport(Libs.Gst)]
    public static partial nuint gst_buffer_fill(IntPtr buffer, nuint offset, byte* src, nuint size);

    // gchar *gst_caps_to_string (const GstCaps *caps);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_caps_to_string(IntPtr caps);

    // GstCaps *gst_caps_from_string (const gchar *string);   (transfer full, nullable)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_caps_from_string(string caps);

    // void gst_util_set_object_arg (GObject *object, const gchar *name, const gchar *value);
    //   Non-variadic, string-typed property setter: parses ints, bools, enums, flags, caps.
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_util_set_object_arg(IntPtr obj, string name, string value);

    // For element types defined in Relay (see GStreamer/RtpTimestamper.cs).

    // GType gst_element_get_type (void);
    [LibraryImport(Libs.Gst)]
    public static partial nuint gst_element_get_type();

    // GstCaps *gst_caps_new_any (void);   (transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_caps_new_any();

    // GstPadTemplate *gst_pad_template_new (const gchar *name_template, GstPadDirection direction, GstPadPresence presence, GstCaps *caps);
    //   caps: transfer none; the template is floating.
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_pad_template_new(string nameTemplate, int direction, int presence, IntPtr caps);

    // void gst_element_class_add_pad_template (GstElementClass *klass, GstPadTemplate *templ);   (sinks a floating template)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_element_class_add_pad_template(IntPtr elementClass, IntPtr template);

    // GstPadTemplate *gst_element_class_get_pad_template (GstElementClass *element_class, const gchar *name);   (transfer none)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_element_class_get_pad_template(IntPtr elementClass, string name);

    // void gst_element_class_set_static_metadata (GstElementClass *klass, const gchar *longname, const gchar *classification,
    //                                             const gchar *description, const gchar *author);   (strings must live forever)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_element_class_set_static_metadata(IntPtr elementClass, IntPtr longName, IntPtr classification, IntPtr description, IntPtr author);

    // GstPad *gst_pad_new_from_template (GstPadTemplate *templ, const gchar *name);   (floating)
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_pad_new_from_template(IntPtr template, string name);

    // void gst_pad_set_chain_function_full (GstPad *pad, GstPadChainFunction chain, gpointer user_data, GDestroyNotify notify);
    //   GstFlowReturn chain (GstPad *pad, GstObject *parent, GstBuffer *buffer)   (buffer: transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_pad_set_chain_function_full(IntPtr pad, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> chain, IntPtr userData, IntPtr notify);

    // void gst_pad_set_event_function_full (GstPad *pad, GstPadEventFunction event, gpointer user_data, GDestroyNotify notify);
    //   gboolean event (GstPad *pad, GstObject *parent, GstEvent *event)   (event: transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_pad_set_event_function_full(IntPtr pad, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> handler, IntPtr userData, IntPtr notify);

    // gboolean gst_element_add_pad (GstElement *element, GstPad *pad);   (sinks the pad)
    [LibraryImport(Libs.Gst)]
    public static partial int gst_element_add_pad(IntPtr element, IntPtr pad);

    // GstFlowReturn gst_pad_push (GstPad *pad, GstBuffer *buffer);   (buffer: transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial int gst_pad_push(IntPtr pad, IntPtr buffer);

    // gboolean gst_pad_event_default (GstPad *pad, GstObject *parent, GstEvent *event);   (event: transfer full)
    [LibraryImport(Libs.Gst)]
    public static partial int gst_pad_event_default(IntPtr pad, IntPtr parent, IntPtr evt);

    // void gst_event_parse_caps (GstEvent *event, GstCaps **caps);   (caps: transfer none)
    [LibraryImport(Libs.Gst)]
    public static partial void gst_event_parse_caps(IntPtr evt, out IntPtr caps);

    // GstStructure *gst_caps_get_structure (const GstCaps *caps, guint index);   (transfer none)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_caps_get_structure(IntPtr caps, uint index);

    // gboolean gst_structure_get_int (const GstStructure *structure, const gchar *fieldname, gint *value);
    [LibraryImport(Libs.Gst, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int gst_structure_get_int(IntPtr structure, string fieldName, out int value);

    // GstMiniObject *gst_mini_object_make_writable (GstMiniObject *mini_object);   (transfer full in and out)
    [LibraryImport(Libs.Gst)]
    public static partial IntPtr gst_mini_object_make_writable(IntPtr mini);

    /// <summary>Reads a GstEvent's type (GST_EVENT_TYPE).</summary>
    public static int EventType(IntPtr evt) => *(int*)((byte*)evt + Offsets.EventType);

    /// <summary>Reads a GstBuffer's PTS (GST_BUFFER_PTS).</summary>
    public static ulong BufferPts(IntPtr buffer) => *(ulong*)((byte*)buffer + Offsets.BufferPts);

    /// <summary>Reads a GstBuffer's DTS (GST_BUFFER_DTS).</summary>
    public static ulong BufferDts(IntPtr buffer) => *(ulong*)((byte*)buffer + Offsets.BufferDts);

    /// <summary>Reads a GstBuffer's duration (GST_BUFFER_DURATION).</summary>
    public static ulong BufferDuration(IntPtr buffer) => *(ulong*)((byte*)buffer + Offsets.BufferDuration);

    /// <summary>Reads GST_BUFFER_FLAGS.</summary>
    public static uint BufferFlags(IntPtr buffer) => *(uint*)((byte*)buffer + Offsets.MiniObjectFlags);

    /// <summary>Writes GST_BUFFER_PTS.</summary>
    public static void SetBufferPts(IntPtr buffer, ulong value) => *(ulong*)((byte*)buffer + Offsets.BufferPts) = value;

    /// <summary>Writes GST_BUFFER_DTS.</summary>
    public static void SetBufferDts(IntPtr buffer, ulong value) => *(ulong*)((byte*)buffer + Offsets.BufferDts) = value;

    /// <summary>Writes GST_BUFFER_DURATION.</summary>
    public static void SetBufferDuration(IntPtr buffer, ulong value) => *(ulong*)((byte*)buffer + Offsets.BufferDuration) = value;

    /// <summary>Writes GST_BUFFER_FLAGS.</summary>
    public static void SetBufferFlags(IntPtr buffer, uint value) => *(uint*)((byte*)buffer + Offsets.MiniObjectFlags) = value;

    /// <summary>Reads GST_MESSAGE_TYPE.</summary>
    public static GstMessageType MessageType(IntPtr message) => (GstMessageType)(*(int*)((byte*)message + Offsets.MessageType));

    /// <summary>Reads GST_MESSAGE_SRC (borrowed).</summary>
    public static IntPtr MessageSource(IntPtr message) => *(IntPtr*)((byte*)message + Offsets.MessageSrc);
}
