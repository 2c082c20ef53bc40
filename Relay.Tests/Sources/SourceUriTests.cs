using Relay.Server.Sources;

namespace Relay.Tests.Sources;

public sealed class SourceUriTests
{
    [Theory]
    [InlineData("rtsp://admin:hunter2@10.0.0.5/stream1", "rtsp://***@10.0.0.5/stream1")]
    [InlineData("rtsp://10.0.0.5:8554/live", "rtsp://10.0.0.5:8554/live")]
    [InlineData("rtsps://user@cam.local/a?channel=1&password=s3cret", "rtsps://***@cam.local/a?channel=1&password=***")]
    [InlineData("rtsp://10.0.0.9/user=admin&password=s3cret&channel=1&stream=0.sdp", "rtsp://10.0.0.9/user=***&password=***&channel=1&stream=0.sdp")] // DVR: in the path
    [InlineData("rtsp://10.0.0.9/cam/realmonitor?channel=1&subtype=0&authbasic=YWRtaW46cw==", "rtsp://10.0.0.9/cam/realmonitor?channel=1&subtype=0&authbasic=***")]
    [InlineData("rtsp://10.0.0.9/live;loginuse=admin;loginpas=x", "rtsp://10.0.0.9/live;loginuse=***;loginpas=***")]
    public void Redact_removes_credentials(string uri, string expected)
    {
        Assert.Equal(expected, SourceUri.Redact(new Uri(uri)));
    }

    [Fact]
    public void SplitCredentials_unescapes_user_and_password_and_strips_them_from_the_location()
    {
        var (location, user, password) = SourceUri.SplitCredentials(new Uri("rtsp://ad%40min:p%3Ass%2Fword@10.0.0.5:554/s1"));

        Assert.Equal("rtsp://10.0.0.5:554/s1", location);
        Assert.Equal("ad@min", user);
        Assert.Equal("p:ss/word", password);
    }

    [Fact]
    public void Scrub_removes_the_password_from_free_text()
    {
        var uri = new Uri("rtsp://admin:hunter2@10.0.0.5/stream1");

        Assert.Equal("could not open rtsp://***@10.0.0.5 (***)", SourceUri.Scrub("could not open rtsp://admin:hunter2@10.0.0.5 (hunter2)", uri));
    }

    [Fact]
    public void Scrub_removes_secrets_in_a_dvr_path_and_one_letter_passwords_where_they_stand_as_values()
    {
        var dvr = new Uri("rtsp://10.0.0.9/user=admin&password=s3cret&channel=1");
        var shortPassword = new Uri("rtsp://admin:x@10.0.0.5/stream1");

        var dvrText = SourceUri.Scrub("Could not open resource: rtsp://10.0.0.9/user=admin&password=s3cret&channel=1 (s3cret refused)", dvr);
        var shortText = SourceUri.Scrub("auth failed for admin:x@10.0.0.5, password=x; retry x2 of rtsp://admin:x@10.0.0.5/stream1", shortPassword);

        Assert.Equal("Could not open resource: rtsp://10.0.0.9/user=***&password=***&channel=1 (*** refused)", dvrText);
        Assert.Equal("auth failed for ***@10.0.0.5, password=***; retry x2 of rtsp://***@10.0.0.5/stream1", shortText);
    }
}
