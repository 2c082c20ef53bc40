using System.Runtime.InteropServices;

namespace Relay.Server.Interop;

/// <summary>
/// libgstrtspserver-1.0. Relay serves RTSP from managed code; this binding exists for the fake
/// camera that tests and tools use (an RTSP server that is not Relay's code). Every GstRTSP* object
/// is a plain GObject (not a GstObject, not floating): release it with g_object_unref.
/// </summary>
internal static unsafe partial class GstRtspServer
{
    // GstRTSPServer *gst_rtsp_server_new (void);   (transfer full)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_server_new();

    // void gst_rtsp_server_set_address (GstRTSPServer *server, const gchar *address);
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_server_set_address(IntPtr server, string address);

    // void gst_rtsp_server_set_service (GstRTSPServer *server, const gchar *service);
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_server_set_service(IntPtr server, string service);

    // int gst_rtsp_server_get_bound_port (GstRTSPServer *server);
    [LibraryImport(Libs.GstRtspServer)]
    public static partial int gst_rtsp_server_get_bound_port(IntPtr server);

    // GstRTSPMountPoints *gst_rtsp_server_get_mount_points (GstRTSPServer *server);   (transfer full)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_server_get_mount_points(IntPtr server);

    // GstRTSPThreadPool *gst_rtsp_server_get_thread_pool (GstRTSPServer *server);   (transfer full)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_server_get_thread_pool(IntPtr server);

    // void gst_rtsp_thread_pool_set_max_threads (GstRTSPThreadPool *pool, gint max_threads);
    [LibraryImport(Libs.GstRtspServer)]
    public static partial void gst_rtsp_thread_pool_set_max_threads(IntPtr pool, int maxThreads);

    // GstRTSPSessionPool *gst_rtsp_server_get_session_pool (GstRTSPServer *server);   (transfer full)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_server_get_session_pool(IntPtr server);

    // guint gst_rtsp_session_pool_get_n_sessions (GstRTSPSessionPool *pool);
    [LibraryImport(Libs.GstRtspServer)]
    public static partial uint gst_rtsp_session_pool_get_n_sessions(IntPtr pool);

    // guint gst_rtsp_server_attach (GstRTSPServer *server, GMainContext *context);   (0 when binding fails)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial uint gst_rtsp_server_attach(IntPtr server, IntPtr context);

    // GList *gst_rtsp_server_client_filter (GstRTSPServer *server, GstRTSPServerClientFilterFunc func,
    //                                      gpointer user_data);
    //   GstRTSPFilterResult (*GstRTSPServerClientFilterFunc) (GstRTSPServer*, GstRTSPClient*, gpointer);
    //   With func == NULL every client is returned in the list with a reference (transfer full).
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_server_client_filter(
        IntPtr server,
        delegate* unmanaged[Cdecl]<IntPtr, IntPtr, IntPtr, int> func,
        IntPtr userData);

    // GstRTSPMediaFactory *gst_rtsp_media_factory_new (void);   (transfer full)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_media_factory_new();

    // void gst_rtsp_media_factory_set_launch (GstRTSPMediaFactory *factory, const gchar *launch);
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_media_factory_set_launch(IntPtr factory, string launch);

    // void gst_rtsp_media_factory_set_shared (GstRTSPMediaFactory *factory, gboolean shared);
    [LibraryImport(Libs.GstRtspServer)]
    public static partial void gst_rtsp_media_factory_set_shared(IntPtr factory, int shared);

    // void gst_rtsp_media_factory_set_transport_mode (GstRTSPMediaFactory *factory, GstRTSPTransportMode mode);
    // (GST_RTSP_TRANSPORT_MODE_PLAY = 1, GST_RTSP_TRANSPORT_MODE_RECORD = 2)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial void gst_rtsp_media_factory_set_transport_mode(IntPtr factory, int mode);

    // void gst_rtsp_mount_points_add_factory (GstRTSPMountPoints *mounts, const gchar *path,
    //                                         GstRTSPMediaFactory *factory);   (factory: transfer full)
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_mount_points_add_factory(IntPtr mounts, string path, IntPtr factory);

    // GstRTSPAuth *gst_rtsp_auth_new (void);   (transfer full)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_auth_new();

    // gchar *gst_rtsp_auth_make_basic (const gchar *user, const gchar *pass);   (transfer full)
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr gst_rtsp_auth_make_basic(string user, string pass);

    // void gst_rtsp_auth_add_basic (GstRTSPAuth *auth, const gchar *basic, GstRTSPToken *token);   (token: transfer none)
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_auth_add_basic(IntPtr auth, string basic, IntPtr token);

    // void gst_rtsp_server_set_auth (GstRTSPServer *server, GstRTSPAuth *auth);   (auth: transfer none)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial void gst_rtsp_server_set_auth(IntPtr server, IntPtr auth);

    // GstRTSPToken *gst_rtsp_token_new_empty (void);   (transfer full, mini object)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_token_new_empty();

    // void gst_rtsp_token_set_string (GstRTSPToken *token, const gchar *field, const gchar *string_value);
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_token_set_string(IntPtr token, string field, string value);

    // GstRTSPPermissions *gst_rtsp_permissions_new (void);   (transfer full, mini object)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_permissions_new();

    // void gst_rtsp_permissions_add_permission_for_role (GstRTSPPermissions *permissions, const gchar *role,
    //                                                    const gchar *permission, gboolean allowed);
    [LibraryImport(Libs.GstRtspServer, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void gst_rtsp_permissions_add_permission_for_role(IntPtr permissions, string role, string permission, int allowed);

    // void gst_rtsp_media_factory_set_permissions (GstRTSPMediaFactory *factory, GstRTSPPermissions *permissions);
    //   (permissions: transfer none)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial void gst_rtsp_media_factory_set_permissions(IntPtr factory, IntPtr permissions);

    // GstRTSPConnection *gst_rtsp_client_get_connection (GstRTSPClient *client);   (transfer none)
    [LibraryImport(Libs.GstRtspServer)]
    public static partial IntPtr gst_rtsp_client_get_connection(IntPtr client);

    // GSocket *gst_rtsp_connection_get_read_socket (const GstRTSPConnection *conn);   (transfer none)
    [LibraryImport(Libs.GstRtsp)]
    public static partial IntPtr gst_rtsp_connection_get_read_socket(IntPtr connection);

    // int g_socket_get_fd (GSocket *socket);
    [LibraryImport(Libs.Gio)]
    public static partial int g_socket_get_fd(IntPtr socket);

    /// <summary>GST_RTSP_FILTER_REMOVE: the filter function asks the server to close the client.</summary>
    public const int FilterRemove = 0;

    /// <summary>GST_RTSP_FILTER_KEEP: the filter function leaves the client alone.</summary>
    public const int FilterKeep = 1;
}
