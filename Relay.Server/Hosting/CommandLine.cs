
namespace Relay.Server.Hosting;

/// <summary>
/// What the command line asks for before any setting is read: <c>--help</c>, <c>--version</c>, or a mistake in how
/// arguments are written. Settings themselves (<c>--Relay:…=</c>) are the configuration's to read and validate.
/// </summary>
internal static class CommandLine
{
    /// <summary>
    /// Handles <c>--help</c> and <c>--version</c> and refuses arguments that are not settings; returns the exit code
    /// when the process should end now, or null to run the relay.
    /// </summary>
    public static int? Handle(IReadOnlyList<string> args, TextWriter output, TextWriter error, TextReader? input = null)
    {
        if (args.Count > 0 && args[0] is "hash-password")
        {
            return HashPassword(args, input ?? TextReader.Null, output, error);
        }

        if (args.Count > 0 && args[0] is "new-token")
        {
            return NewToken(args, output, error);
        }

        if (args.Any(a => a is "--help" or "-h" or "-?" or "/?" or "help"))
        {
            output.Write(Usage);
            return 0;
        }

        if (args.Any(a => a is "--version" or "-V"))
        {
            output.WriteLine($"Relay {RelayApp.Version}");
            try
            {
                output.WriteLine(GStreamer.GstRuntime.Version);
            }
            catch (GStreamer.GstException e)
            {
                output.WriteLine($"GStreamer: {e.Message}");
            }

            return 0;
        }

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Length > 2)
            {
                if (!arg.Contains('=', StringComparison.Ordinal))
                {
                    i++; // "--Key value": the next argument is the value
                }

                continue;
            }

            error.WriteLine(arg.StartsWith('-')
                ? $"Unknown option '{arg}'. Settings are written --Section:Key=value (for example --Relay:Streams:cam1:Source=rtsp://…); see --help."
                : $"Unexpected argument '{arg}'. Settings are written --Section:Key=value (for example --Relay:Streams:cam1:Source=rtsp://…); see --help.");
            return 2;
        }

        return null;
    }

    /// <summary>
    /// <c>hash-password USER [--realm=REALM]</c>: reads the password from standard input (one line) and prints the
    /// user's settings: a PBKDF2 hash for Basic and the Digest H(A1) values for the realm. The password is not echoed.
    /// </summary>
    private static int HashPassword(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error)
    {
        var realm = args.Skip(2).FirstOrDefault(a => a.StartsWith("--realm=", StringComparison.Ordinal))?["--realm=".Length..] ?? new Relay.Configuration.AuthConfig().Realm;
        if (args.Count < 2 || args[1].StartsWith('-') || args[1].Contains(':', StringComparison.Ordinal))
        {
            error.WriteLine("Usage: Relay.Server hash-password USER [--realm=REALM]   (the password is read from standard input)");
            return 2;
        }

        var user = args[1];
        var password = input.ReadLine();
        if (string.IsNullOrEmpty(password))
        {
            error.WriteLine("hash-password: no password on standard input (for example: printf '%s' \"$PASSWORD\" | Relay.Server hash-password USER)");
            return 2;
        }

        var json = System.Text.Json.JsonEncodedText.Encode(user).ToString();
        output.WriteLine($$"""
            "{{json}}": {
              "PasswordHash": "{{Auth.PasswordHash.Create(password)}}",
              "DigestMd5": "{{Auth.PasswordHash.DigestHa1("MD5", user, realm, password)}}",
              "DigestSha256": "{{Auth.PasswordHash.DigestHa1("SHA-256", user, realm, password)}}",
              "Read": [ "*" ]
            }
            """);
        error.WriteLine($"Put this under Relay:Users (the Digest values are for realm '{realm}', Relay:Auth:Realm). Keep the file private: the Digest values let a client log in as {user} with Digest.");
        return 0;
    }

    /// <summary><c>new-token NAME [--scopes=read,write,metrics]</c>: prints a new API token and the settings that hold its hash.</summary>
    private static int NewToken(IReadOnlyList<string> args, TextWriter output, TextWriter error)
    {
        if (args.Count < 2 || args[1].StartsWith('-'))
        {
            error.WriteLine("Usage: Relay.Server new-token NAME [--scopes=read,write,metrics]");
            return 2;
        }

        var scopes = (args.Skip(2).FirstOrDefault(a => a.StartsWith("--scopes=", StringComparison.Ordinal))?["--scopes=".Length..] ?? "read")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (scopes.Any(s => s is not ("read" or "write" or "metrics")))
        {
            error.WriteLine("new-token: scopes are read, write and metrics");
            return 2;
        }

        var (token, hash) = Auth.TokenHash.Create();
        var json = System.Text.Json.JsonEncodedText.Encode(args[1]).ToString();
        output.WriteLine($$"""
            "{{json}}": {
              "Hash": "{{hash}}",
              "Scopes": [ {{string.Join(", ", scopes.Select(s => $"\"{s}\""))}} ]
            }
            """);
        error.WriteLine($"Put this under Relay:Tokens. The token (shown once, not stored anywhere): {token}");
        error.WriteLine("Send it as: Authorization: Bearer TOKEN");
        return 0;
    }

    /// <summary>Gets the text <c>--help</c> prints.</summary>
    public static string Usage => $"""
        Relay {RelayApp.Version}: pulls each camera's RTSP stream once and serves it to any number of readers
        over RTSP (TCP and UDP), LL-HLS, MJPEG and JPEG snapshots.

        Usage: Relay.Server [--config=FILE] [--urls=http://ADDRESS:PORT] [--Relay:KEY=VALUE ...]
               Relay.Server --help | --version
               Relay.Server hash-password USER [--realm=REALM]   < password     (prints the user's settings)
               Relay.Server new-token NAME [--scopes=read,write,metrics]        (prints a token and its settings)

        Configuration, later sources overriding earlier ones:
          appsettings.json beside the binary
          --config=FILE or RELAY_CONFIG_FILE=FILE   a JSON file like appsettings.json; reloaded when it changes
          environment variables                      Relay__Streams__cam1__Source=rtsp://…  (':' written '__')
          arguments                                  --Relay:Streams:cam1:Source=rtsp://…
        Every key under Relay: is checked; an unknown or invalid one stops the relay with exit code 2.

        Streams (Relay:Streams:NAME:…, NAME is the path readers use):
          Source               rtsp://[user:password@]host[:port]/path, rtsps://…, or test:pattern=smpte&size=1280x720
          Transport            tcp (default) or udp, how the camera is pulled
          OnDemand             true: pull only while someone reads (IdleTimeout after the last reader, default 10s)
          Node                 the node name(s) that pull it (comma-separated); others list it as elsewhere
          StartAt, ConnectTimeout, StallTimeout, Latency, RetryDelay, MaxRetryDelay, GopCacheMaxBytes,
          GopCacheMaxDuration, ReaderQueueMaxBytes, ReaderQueueMaxFrames, ReaderStallTimeout
        Channels (Relay:Channels:NAME=STREAM): a path that shows one stream and can be switched to another.
        Relay:NodeName (or NODE_NAME): this relay's node, for streams with Node. Relay:StateFile: where API changes
        are kept (default relay-state.json in the working directory).
        Servers: Relay:Rtsp (Port 8554, RtpPort 8000, RtcpPort 8001, Address, SessionTimeout, MaxConnections, …),
        Relay:Hls, Relay:Mjpeg, Relay:Api (AllowRemoteWrites). HTTP listens on --urls (default http://0.0.0.0:8080).
        Access (off when there is no user and no token):
          Relay:Users:NAME     PasswordHash, DigestMd5, DigestSha256 (from hash-password), Read (stream patterns),
                               Scopes (read, write, metrics; default read), Addresses (CIDR ranges)
          Relay:Tokens:NAME    Hash (from new-token), Scopes, Read, Addresses; sent as Authorization: Bearer
          Relay:Auth           Realm, NonceLifetime, ProtectMetrics, SlowAfterFailures, BlockAfterFailures,
                               FailureWindow, BlockDuration

        Where to read:
          rtsp://HOST:8554/NAME                 RTSP (TCP interleaved or UDP)
          http://HOST:8080/                     every stream in a browser; /watch/NAME plays one
          http://HOST:8080/streams/NAME/index.m3u8, /snapshot.jpg, /mjpeg
          http://HOST:8080/manage               manage streams and channels (the write scope; without users
                                                and tokens, from this machine unless Relay:Api:AllowRemoteWrites)
          http://HOST:8080/api/v1/streams       status and management API (/openapi/v1.json describes it)
          http://HOST:8080/metrics              Prometheus; /healthz and /readyz for probes

        Exit codes: 0 stopped normally, 2 invalid configuration or arguments, 3 could not start.

        """;
}
