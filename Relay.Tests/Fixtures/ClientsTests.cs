namespace Relay.Tests.Fixtures;

/// <summary>The one client failure the tests forgive is rtspsrc's own shutdown race; every other error still fails.</summary>
public sealed class ClientsTests
{
    private const string ShutdownRace = """
        ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Could not write to resource.
        Additional debug info:
        ../gst/rtsp/gstrtspsrc.c(6766): gst_rtspsrc_try_send (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:
        Could not send message. (Received end-of-file)
        ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Could not write to resource.
        Additional debug info:
        ../gst/rtsp/gstrtspsrc.c(9240): gst_rtspsrc_pause (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:
        Could not send message. (Received end-of-file)
        """;

    private const string Refused = """
        ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0: Could not open resource for reading and writing.
        Additional debug info:
        ../gst/rtsp/gstrtspsrc.c(8130): gst_rtspsrc_retrieve_sdp (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0:
        Failed to connect. (Generic error)
        """;

    private const string StreamError = """
        ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0/GstUDPSrc:udpsrc0: Internal data stream error.
        Additional debug info:
        ../libs/gst/base/gstbasesrc.c(3132): gst_base_src_loop (): /GstPipeline:pipeline0/GstRTSPSrc:rtspsrc0/GstUDPSrc:udpsrc0:
        streaming stopped, reason not-negotiated (-4)
        """;

    [Theory]
    [InlineData(0, "", true)]
    [InlineData(1, ShutdownRace, true)]
    [InlineData(1, Refused, false)]
    [InlineData(1, ShutdownRace + "\n" + StreamError, false)]
    [InlineData(1, "", false)]
    public void Only_the_rtspsrc_shutdown_race_is_forgiven(int exitCode, string stderr, bool succeeded)
    {
        Assert.Equal(succeeded, Clients.GstreamerSucceeded(exitCode, stderr.ReplaceLineEndings("\n")));
    }
}
