using Relay.Configuration;
using Relay.Server.GStreamer;
using Relay.Server.Sources;

namespace Relay.Tests.Sources;

public sealed class SourceErrorsTests
{
    [Theory]
    [InlineData((int)GstErrorDomain.Resource, GstResourceError.NotAuthorized, "Unauthorized", RelayError.SourceUnauthorized)]
    [InlineData((int)GstErrorDomain.Resource, GstResourceError.NotFound, "Not found", RelayError.SourceNotFound)]
    [InlineData((int)GstErrorDomain.Resource, GstResourceError.OpenReadWrite, "Could not open resource for reading and writing.", RelayError.SourceUnreachable)]
    [InlineData((int)GstErrorDomain.Resource, GstResourceError.OpenReadWrite, "Could not connect to server. (Timeout while waiting for server response)", RelayError.SourceTimedOut)]
    [InlineData((int)GstErrorDomain.Resource, GstResourceError.Read, "Could not receive any UDP packets for 5.0000 seconds", RelayError.SourceTimedOut)]
    [InlineData((int)GstErrorDomain.Stream, 7, "Could not decode stream.", RelayError.PipelineError)]
    public void Classify_maps_rtspsrc_errors(int domain, int code, string text, RelayError expected)
    {
        Assert.Equal(expected, SourceErrors.Classify((GstErrorDomain)domain, code, text));
    }
}
