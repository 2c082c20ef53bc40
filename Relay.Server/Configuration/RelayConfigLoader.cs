using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Server.Sources;

namespace Relay.Server.Configuration;

/// <summary>
/// Reads and validates the <c>Relay</c> configuration section all at once: every problem is reported, each
/// with the key it is about, and nothing is half-applied. Used at start-up (a bad file stops the process)
/// and for reloads (a bad reload keeps the last good configuration).
/// </summary>
internal static partial class RelayConfigLoader
{
    internal static readonly string[] StreamKeys =
    [
        "Source", "Transport", "StartAt", "OnDemand", "IdleTimeout", "ConnectTimeout", "StallTimeout", "Latency", "RetryDelay",
        "MaxRetryDelay", "GopCacheMaxBytes", "GopCacheMaxDuration", "ReaderQueueMaxBytes", "ReaderQueueMaxFrames", "ReaderStallTimeout", "Node", "Push",
    ];

    private static readonly string[] RelayKeys = ["Rtsp", "Hls", "Mjpeg", "Api", "Tls", "Auth", "Users", "Tokens", "StateFile", "NodeName", "Streams", "Channels"];

    private static readonly string[] AuthKeys = ["Realm", "NonceLifetime", "ProtectMetrics", "SlowAfterFailures", "BlockAfterFailures", "FailureWindow", "BlockDuration"];

    private static readonly string[] UserKeys = ["PasswordHash", "DigestMd5", "DigestSha256", "Read", "Scopes", "Addresses"];

    private static readonly string[] TokenKeys = ["Hash", "Scopes", "Read", "Addresses"];

    private static readonly string[] RtspKeys =
        ["Address", "Port", "TlsPort", "RtpPort", "RtcpPort", "SessionTimeout", "DescribeTimeout", "RequestTimeout", "Mtu", "MaxRequestBytes", "MaxConnections", "MaxConnectionsPerAddress", "MaxSessionsPerConnection", "MaxSessionsPerAddress"];

    private static readonly string[] HlsKeys = ["SegmentDuration", "PartDuration", "SegmentCount", "IdleTimeout"];

    private static readonly string[] ApiKeys = ["AllowRemoteWrites"];

    private static readonly string[] ChannelKeys = ["Stream"];

    private static readonly string[] MjpegKeys = ["MaxViewers", "MaxFps", "MaxWidth", "Quality", "SnapshotMaxAge"];

    /// <summary>Reads the <c>Relay</c> section of <paramref name="configuration"/>.</summary>
    /// <returns>The configuration when valid, and every error found (each prefixed by its key).</returns>
    public static (RelayConfig? Config, IReadOnlyList<string> Errors) Load(IConfiguration configuration)
    {
        var errors = new List<string>();
        var section = configuration.GetSection(RelayConfig.SectionName);
        new SectionReader(section, errors).RejectUnknown(RelayKeys);
        var nodeName = ReadNodeName(section["NodeName"] ?? configuration["NODE_NAME"], errors);
        var rtsp = ReadRtsp(section.GetSection("Rtsp"), errors);
        var hls = ReadHls(section.GetSection("Hls"), errors);
        var mjpeg = ReadMjpeg(section.GetSection("Mjpeg"), errors);
        var apiReader = new SectionReader(section.GetSection("Api"), errors);
        apiReader.RejectUnknown(ApiKeys);
        var api = new ApiConfig { AllowRemoteWrites = apiReader.Bool("AllowRemoteWrites") ?? false };
        var auth = ReadAuth(section, errors);
        var tls = ReadTls(section.GetSection("Tls"), errors);
        var stateFile = section["StateFile"] is { Length: > 0 } state ? state : RelayConfig.DefaultStateFile;
        var streams = new Dictionary<string, StreamConfig>(StringComparer.OrdinalIgnoreCase);
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetSection("Streams").GetChildren())
        {
            var path = child.Path;
            var name = child.Key.Trim('/');
            if (!IsValidName(name))
            {
                errors.Add($"{path}: stream name '{child.Key}' is not a valid path (letters, digits, '-', '_', '.', '~' and '/' between segments, at most 200 characters)");
                continue;
            }

            if (seen.TryGetValue(name, out var other))
            {
                errors.Add($"{path}: duplicate stream name '{name}' (also defined as '{other}')");
                continue;
            }

            seen[name] = child.Key;
            var stream = ReadStream(name, child, errors);
            if (stream is not null)
            {
                streams[name] = stream;
            }
        }

        var channels = new Dictionary<string, ChannelConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in section.GetSection("Channels").GetChildren())
        {
            var name = child.Key.Trim('/');
            var channel = ReadChannel(name, child, errors);
            if (channel is null)
            {
                continue;
            }

            if (streams.ContainsKey(name) || seen.ContainsKey(name))
            {
                errors.Add($"{child.Path}: a stream has the name '{name}' already; a channel needs a name of its own");
            }
            else if (!channels.TryAdd(name, channel))
            {
                errors.Add($"{child.Path}: duplicate channel name '{name}'");
            }
        }

        return errors.Count > 0 ? (null, errors) : (new RelayConfig { Rtsp = rtsp, Hls = hls, Mjpeg = mjpeg, Api = api, Auth = auth, Tls = tls, StateFile = stateFile, NodeName = nodeName, Streams = streams, Channels = channels }, errors);
    }

    /// <summary>Validates one stream's settings given as key/value pairs (as the API will receive them).</summary>
    public static (StreamConfig? Config, IReadOnlyList<string> Errors) LoadStream(string name, IConfigurationSection section)
    {
        var errors = new List<string>();
        if (!IsValidName(name.Trim('/')))
        {
            errors.Add($"stream name '{name}' is not a valid path");
            return (null, errors);
        }

        var config = ReadStream(name.Trim('/'), section, errors);
        return (errors.Count > 0 ? null : config, errors);
    }

    /// <summary>Validates one channel: <c>Relay:Channels:{name}=stream</c> or <c>Relay:Channels:{name}:Stream=stream</c>.</summary>
    public static ChannelConfig? ReadChannel(string name, IConfigurationSection section, List<string> errors)
    {
        if (!IsValidName(name))
        {
            errors.Add($"{section.Path}: channel name '{section.Key}' is not a valid path (letters, digits, '-', '_', '.', '~' and '/' between segments, at most 200 characters)");
            return null;
        }

        var reader = new SectionReader(section, errors);
        var stream = section.Value is { Length: > 0 } shorthand && !section.GetChildren().Any() ? shorthand : reader.String("Stream");
        if (section.Value is null)
        {
            reader.RejectUnknown(ChannelKeys);
        }

        if (string.IsNullOrWhiteSpace(stream))
        {
            errors.Add($"{section.Path}:Stream: is required (the name of the stream the channel shows)");
            return null;
        }

        stream = stream.Trim().Trim('/');
        if (!IsValidName(stream))
        {
            errors.Add($"{section.Path}:Stream: '{stream}' is not a valid stream name");
            return null;
        }

        return new ChannelConfig { Name = name, Stream = stream };
    }

    /// <summary>
    /// Reads the nodes that pull a stream: <c>"edge-1"</c>, <c>"edge-1,edge-2"</c> or a JSON array. Returns them
    /// normalized (lower case, sorted, comma-separated), or null when the stream runs on every node.
    /// </summary>
    private static string? ReadNodes(IConfigurationSection section, List<string> errors)
    {
        var given = section.GetChildren().Any() ? section.GetChildren().Select(c => c.Value ?? string.Empty) : [section.Value ?? string.Empty];
        var nodes = given.SelectMany(v => v.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(n => n.ToLowerInvariant()).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var node in nodes.Where(n => !IsNodeName(n)))
        {
            errors.Add($"{section.Path}: '{node}' is not a node name (a Kubernetes node name: letters, digits, '-' and '.', at most 253 characters)");
        }

        return nodes.Count == 0 ? null : string.Join(',', nodes);
    }

    private static string? ReadNodeName(string? value, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        var name = value.Trim().ToLowerInvariant();
        if (!IsNodeName(name))
        {
            errors.Add($"{RelayConfig.SectionName}:NodeName: '{value}' is not a node name (from Relay:NodeName or NODE_NAME)");
            return null;
        }

        return name;
    }

    private static bool IsNodeName(string name) => name.Length is > 0 and <= 253 && NodeNamePattern().IsMatch(name);

    [GeneratedRegex("^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$")]
    private static partial Regex NodeNamePattern();

    /// <summary>Finds the known name closest to a mistyped one (at most a third of its letters off), or null.</summary>
    internal static string? Closest(string typed, IEnumerable<string> known)
    {
        var (best, distance) = known.Select(k => (k, EditDistance(typed.ToLowerInvariant(), k.ToLowerInvariant()))).MinBy(p => p.Item2);
        return best is not null && distance <= Math.Max(1, Math.Min(typed.Length, best.Length) / 3) ? best : null;
    }

    /// <summary>Counts the insertions, deletions, substitutions and swaps of neighbours that turn one word into another.</summary>
    private static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }

        return d[a.Length, b.Length];
    }

    /// <summary>Tells whether a name can be a stream's or channel's path.</summary>
    internal static bool IsValidName(string name) =>
        name.Length is > 0 and <= 200 && NamePattern().IsMatch(name) && !name.Split('/').Any(s => s is "" or "." or "..");

    [GeneratedRegex("^[A-Za-z0-9._~/-]+$")]
    private static partial Regex NamePattern();

    private static RtspServerConfig ReadRtsp(IConfigurationSection section, List<string> errors)
    {
        var defaults = new RtspServerConfig();
        var reader = new SectionReader(section, errors);
        reader.RejectUnknown(RtspKeys);
        var address = reader.String("Address") ?? defaults.Address;
        if (!IPAddress.TryParse(address, out _) && !string.Equals(address, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{section.Path}:Address: '{address}' is not an IP address");
        }

        var config = new RtspServerConfig
        {
            Address = address,
            Port = reader.Int("Port", 0, 65535) ?? defaults.Port,
            TlsPort = reader.Int("TlsPort", 0, 65535) ?? defaults.TlsPort,
            RtpPort = reader.Int("RtpPort", 0, 65535) ?? defaults.RtpPort,
            RtcpPort = reader.Int("RtcpPort", 0, 65535) ?? defaults.RtcpPort,
            SessionTimeout = reader.Duration("SessionTimeout") ?? defaults.SessionTimeout,
            DescribeTimeout = reader.Duration("DescribeTimeout") ?? defaults.DescribeTimeout,
            RequestTimeout = reader.Duration("RequestTimeout") ?? defaults.RequestTimeout,
            Mtu = reader.Int("Mtu", 300, 65000) ?? defaults.Mtu,
            MaxRequestBytes = reader.Int("MaxRequestBytes", 1024, 1024 * 1024) ?? defaults.MaxRequestBytes,
            MaxConnections = reader.Int("MaxConnections", 1, 1_000_000) ?? defaults.MaxConnections,
            MaxConnectionsPerAddress = reader.Int("MaxConnectionsPerAddress", 1, 1_000_000) ?? defaults.MaxConnectionsPerAddress,
            MaxSessionsPerConnection = reader.Int("MaxSessionsPerConnection", 1, 10_000) ?? defaults.MaxSessionsPerConnection,
            MaxSessionsPerAddress = reader.Int("MaxSessionsPerAddress", 1, 1_000_000) ?? defaults.MaxSessionsPerAddress,
        };
        if (config.RtpPort != 0 && config.RtpPort == config.RtcpPort)
        {
            errors.Add($"{section.Path}:RtcpPort: must differ from RtpPort ({config.RtpPort})");
        }

        if (config.TlsPort != 0 && config.TlsPort == config.Port)
        {
            errors.Add($"{section.Path}:TlsPort: must differ from Port ({config.Port})");
        }

        if (config.Port != 0 && (config.Port == config.RtpPort || config.Port == config.RtcpPort))
        {
            // Not an error for the OS (TCP and UDP), but almost always a typo.
            errors.Add($"{section.Path}:Port: {config.Port} is also used as an RTP/RTCP port");
        }

        return config;
    }

    /// <summary>Reads <c>Relay:Tls:Certificate</c> (Path, KeyPath, Password): the files must exist; loading them is the server's.</summary>
    private static TlsConfig ReadTls(IConfigurationSection section, List<string> errors)
    {
        new SectionReader(section, errors).RejectUnknown(["Certificate"]);
        var certificate = section.GetSection("Certificate");
        var reader = new SectionReader(certificate, errors);
        reader.RejectUnknown(["Path", "KeyPath", "Password"]);
        var path = reader.String("Path");
        var key = reader.String("KeyPath");
        if (path is null && key is not null)
        {
            errors.Add($"{certificate.Path}:Path: is required with KeyPath (the certificate file)");
        }

        foreach (var (name, file) in new[] { ("Path", path), ("KeyPath", key) })
        {
            if (file is not null && !File.Exists(file))
            {
                errors.Add($"{certificate.Path}:{name}: the file '{file}' does not exist");
            }
        }

        return new TlsConfig { CertificatePath = path, KeyPath = key, Password = reader.String("Password") };
    }

    /// <summary>Reads <c>Relay:Auth</c>, <c>Relay:Users</c> and <c>Relay:Tokens</c>.</summary>
    private static AuthConfig ReadAuth(IConfigurationSection relay, List<string> errors)
    {
        var defaults = new AuthConfig();
        var settings = relay.GetSection("Auth");
        var reader = new SectionReader(settings, errors);
        reader.RejectUnknown(AuthKeys);
        var realm = reader.String("Realm") ?? defaults.Realm;
        if (realm.Any(c => c is '"' or '\\' || char.IsControl(c)))
        {
            errors.Add($"{settings.Path}:Realm: must not contain quotes, backslashes or control characters");
        }

        var users = new Dictionary<string, UserConfig>(StringComparer.Ordinal);
        foreach (var child in relay.GetSection("Users").GetChildren())
        {
            if (ReadUser(child, errors) is { } user)
            {
                users[user.Name] = user;
            }
        }

        var tokens = new Dictionary<string, TokenConfig>(StringComparer.Ordinal);
        foreach (var child in relay.GetSection("Tokens").GetChildren())
        {
            if (ReadToken(child, errors) is { } token)
            {
                tokens[token.Name] = token;
            }
        }

        return new AuthConfig
        {
            Users = users,
            Tokens = tokens,
            Realm = realm,
            NonceLifetime = reader.Duration("NonceLifetime") ?? defaults.NonceLifetime,
            ProtectMetrics = reader.Bool("ProtectMetrics") ?? defaults.ProtectMetrics,
            SlowAfterFailures = reader.Int("SlowAfterFailures", 0, 1_000_000) ?? defaults.SlowAfterFailures,
            BlockAfterFailures = reader.Int("BlockAfterFailures", 1, 1_000_000) ?? defaults.BlockAfterFailures,
            FailureWindow = reader.Duration("FailureWindow") ?? defaults.FailureWindow,
            BlockDuration = reader.Duration("BlockDuration") ?? defaults.BlockDuration,
        };
    }

    private static UserConfig? ReadUser(IConfigurationSection section, List<string> errors)
    {
        var name = section.Key;
        if (name.Length is 0 or > 64 || name.Any(c => c is ':' or '"' or '\\' || char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            errors.Add($"{section.Path}: user name '{name}' must be 1 to 64 characters without ':', quotes, backslashes or spaces");
            return null;
        }

        if (section["Password"] is not null)
        {
            errors.Add($"{section.Path}:Password: plain-text passwords are not accepted; run 'Relay.Server hash-password {name}' and set the PasswordHash, DigestMd5 and DigestSha256 it prints");
            return null;
        }

        var reader = new SectionReader(section, errors);
        reader.RejectUnknown(UserKeys);
        var hash = reader.String("PasswordHash");
        if (hash is not null && !Auth.PasswordHash.IsWellFormed(hash))
        {
            errors.Add($"{section.Path}:PasswordHash: not a hash made by 'Relay.Server hash-password' (pbkdf2-sha256$iterations$salt$hash)");
        }

        var md5 = Hex(reader.String("DigestMd5"), 32, $"{section.Path}:DigestMd5", errors);
        var sha256 = Hex(reader.String("DigestSha256"), 64, $"{section.Path}:DigestSha256", errors);
        if (hash is null && md5 is null && sha256 is null)
        {
            errors.Add($"{section.Path}: needs PasswordHash (Basic) and/or DigestMd5 / DigestSha256 (Digest); 'Relay.Server hash-password {name}' prints all three");
        }

        return new UserConfig
        {
            Name = name,
            PasswordHash = hash,
            DigestMd5 = md5,
            DigestSha256 = sha256,
            Read = ReadPatterns(section.GetSection("Read"), errors) ?? ["*"],
            Scopes = ReadScopes(section.GetSection("Scopes"), errors) ?? AccessScopes.Read,
            Addresses = ReadRanges(section.GetSection("Addresses"), errors),
        };
    }

    private static TokenConfig? ReadToken(IConfigurationSection section, List<string> errors)
    {
        if (section["Token"] is not null)
        {
            errors.Add($"{section.Path}:Token: tokens are not stored in plain text; run 'Relay.Server new-token' and set the Hash it prints");
            return null;
        }

        var reader = new SectionReader(section, errors);
        reader.RejectUnknown(TokenKeys);
        var hash = reader.String("Hash");
        if (hash is null || !Auth.TokenHash.IsWellFormed(hash))
        {
            errors.Add($"{section.Path}:Hash: {(hash is null ? "is required" : "is not a token hash")} (sha256$ and 64 hex digits, as 'Relay.Server new-token' prints)");
            return null;
        }

        var scopes = ReadScopes(section.GetSection("Scopes"), errors);
        if (scopes is null)
        {
            errors.Add($"{section.Path}:Scopes: is required (read, write, metrics)");
        }

        return new TokenConfig
        {
            Name = section.Key,
            Hash = hash.ToLowerInvariant(),
            Scopes = scopes ?? AccessScopes.None,
            Read = ReadPatterns(section.GetSection("Read"), errors) ?? ["*"],
            Addresses = ReadRanges(section.GetSection("Addresses"), errors),
        };
    }

    private static string? Hex(string? text, int length, string path, List<string> errors)
    {
        if (text is null)
        {
            return null;
        }

        if (text.Length != length || !text.All(char.IsAsciiHexDigit))
        {
            errors.Add($"{path}: must be {length} hex digits, as 'Relay.Server hash-password' prints");
            return null;
        }

        return text.ToLowerInvariant();
    }

    /// <summary>Reads a list given as a JSON array or as one comma-separated string; null when not given.</summary>
    private static List<string>? ReadList(IConfigurationSection section)
    {
        var given = section.GetChildren().Any() ? section.GetChildren().Select(c => c.Value ?? string.Empty).ToList() : section.Value is { } v ? [v] : null;
        return given?.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
    }

    private static List<string>? ReadPatterns(IConfigurationSection section, List<string> errors)
    {
        var patterns = ReadList(section);
        foreach (var pattern in patterns ?? [])
        {
            if (!IsValidName(pattern.Replace('*', 'x').Replace('?', 'x').Trim('/')))
            {
                errors.Add($"{section.Path}: '{pattern}' is not a stream name or pattern (a name, with * for any run of characters and ? for one)");
            }
        }

        return patterns?.Select(p => p.Trim('/')).ToList();
    }

    private static AccessScopes? ReadScopes(IConfigurationSection section, List<string> errors)
    {
        if (ReadList(section) is not { } names)
        {
            return null;
        }

        var scopes = AccessScopes.None;
        foreach (var name in names)
        {
            switch (name.ToLowerInvariant())
            {
                case "read": scopes |= AccessScopes.Read; break;
                case "write": scopes |= AccessScopes.Write; break;
                case "metrics": scopes |= AccessScopes.Metrics; break;
                default: errors.Add($"{section.Path}: '{name}' is not a scope (read, write, metrics)"); break;
            }
        }

        return scopes;
    }

    private static List<string> ReadRanges(IConfigurationSection section, List<string> errors)
    {
        var ranges = ReadList(section) ?? [];
        foreach (var range in ranges.Where(r => !Auth.AddressRange.TryParse(r, out _)))
        {
            errors.Add($"{section.Path}: '{range}' is not an address or CIDR range (10.0.0.0/8, 192.168.1.20, fd00::/8)");
        }

        return ranges;
    }

    private static HlsConfig ReadHls(IConfigurationSection section, List<string> errors)
    {
        var defaults = new HlsConfig();
        var reader = new SectionReader(section, errors);
        reader.RejectUnknown(HlsKeys);
        var config = new HlsConfig
        {
            SegmentDuration = reader.Duration("SegmentDuration") ?? defaults.SegmentDuration,
            PartDuration = reader.Duration("PartDuration") ?? defaults.PartDuration,
            SegmentCount = reader.Int("SegmentCount", 3, 100) ?? defaults.SegmentCount,
            IdleTimeout = reader.Duration("IdleTimeout") ?? defaults.IdleTimeout,
        };
        if (config.SegmentDuration > TimeSpan.FromSeconds(30))
        {
            errors.Add($"{section.Path}:SegmentDuration: must be 30 s or less");
        }

        if (config.PartDuration < TimeSpan.FromMilliseconds(50) || config.PartDuration > config.SegmentDuration)
        {
            errors.Add($"{section.Path}:PartDuration: must be from 50 ms up to SegmentDuration ({config.SegmentDuration.TotalMilliseconds:0} ms)");
        }

        return config;
    }

    private static MjpegConfig ReadMjpeg(IConfigurationSection section, List<string> errors)
    {
        var defaults = new MjpegConfig();
        var reader = new SectionReader(section, errors);
        reader.RejectUnknown(MjpegKeys);
        return new MjpegConfig
        {
            MaxViewers = reader.Int("MaxViewers", 0, 100_000) ?? defaults.MaxViewers,
            MaxFps = reader.Int("MaxFps", 1, 120) ?? defaults.MaxFps,
            MaxWidth = reader.Int("MaxWidth", 16, 7680) ?? defaults.MaxWidth,
            Quality = reader.Int("Quality", 1, 100) ?? defaults.Quality,
            SnapshotMaxAge = reader.Duration("SnapshotMaxAge", allowZero: true) ?? defaults.SnapshotMaxAge,
        };
    }

    private static StreamConfig? ReadStream(string name, IConfigurationSection section, List<string> errors)
    {
        var defaults = new StreamConfig { Name = name, Source = new Uri("test:") };
        var reader = new SectionReader(section, errors);

        // Shorthand: Relay:Streams:cam1=rtsp://… sets only the source.
        var sourceText = section.Value is { Length: > 0 } shorthand && !section.GetChildren().Any() ? shorthand : reader.String("Source");
        if (section.Value is null)
        {
            reader.RejectUnknown(StreamKeys);
        }

        var source = ParseSource(section.Path, sourceText, errors);
        var config = new StreamConfig
        {
            Name = name,
            Source = source ?? defaults.Source,
            Transport = reader.Enum("Transport", defaults.Transport),
            StartAt = reader.Enum("StartAt", defaults.StartAt),
            OnDemand = reader.Bool("OnDemand") ?? defaults.OnDemand,
            IdleTimeout = reader.Duration("IdleTimeout") ?? defaults.IdleTimeout,
            ConnectTimeout = reader.Duration("ConnectTimeout") ?? defaults.ConnectTimeout,
            StallTimeout = reader.Duration("StallTimeout") ?? defaults.StallTimeout,
            Latency = reader.Duration("Latency", allowZero: true),
            RetryDelay = reader.Duration("RetryDelay") ?? defaults.RetryDelay,
            MaxRetryDelay = reader.Duration("MaxRetryDelay") ?? defaults.MaxRetryDelay,
            GopCacheMaxBytes = reader.Int("GopCacheMaxBytes", 0, int.MaxValue) ?? defaults.GopCacheMaxBytes,
            GopCacheMaxDuration = reader.Duration("GopCacheMaxDuration", allowZero: true) ?? defaults.GopCacheMaxDuration,
            ReaderQueueMaxBytes = reader.Int("ReaderQueueMaxBytes", 64 * 1024, int.MaxValue) ?? defaults.ReaderQueueMaxBytes,
            ReaderQueueMaxFrames = reader.Int("ReaderQueueMaxFrames", 16, 1_000_000) ?? defaults.ReaderQueueMaxFrames,
            ReaderStallTimeout = reader.Duration("ReaderStallTimeout") ?? defaults.ReaderStallTimeout,
            Node = ReadNodes(section.GetSection("Node"), errors),
            Push = ReadPush(section.GetSection("Push"), errors),
        };
        if (config.MaxRetryDelay < config.RetryDelay)
        {
            errors.Add($"{section.Path}:MaxRetryDelay: must not be shorter than RetryDelay");
        }

        return source is null ? null : config;
    }

    /// <summary>
    /// Reads a stream's push targets: <c>Push:{target}=url</c> or <c>Push:{target}:Url</c> (and <c>Enabled</c>), sorted
    /// by name so that equal settings compare equal.
    /// </summary>
    private static List<PushTarget> ReadPush(IConfigurationSection section, List<string> errors)
    {
        var targets = new List<PushTarget>();
        foreach (var child in section.GetChildren())
        {
            if (!PushNamePattern().IsMatch(child.Key))
            {
                errors.Add($"{child.Path}: push target name '{child.Key}' must be 1 to 64 letters, digits, '-' or '_'");
                continue;
            }

            var reader = new SectionReader(child, errors);
            var text = child.Value is { Length: > 0 } shorthand && !child.GetChildren().Any() ? shorthand : reader.String("Url");
            if (child.Value is null)
            {
                reader.RejectUnknown(["Url", "Enabled"]);
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                errors.Add($"{child.Path}:Url: is required (rtmp://…, rtmps://…, rtsp://… or rtsps://…)");
                continue;
            }

            if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var url) || url.Scheme.ToLowerInvariant() is not ("rtmp" or "rtmps" or "rtsp" or "rtsps") || string.IsNullOrEmpty(url.Host))
            {
                // Only the scheme and host are shown: the rest of a push URL is a stream key or credentials.
                errors.Add($"{child.Path}:Url: '{(url is null ? "(not a URL)" : $"{url.Scheme}://{url.Host}/…")}' is not an rtmp://, rtmps://, rtsp:// or rtsps:// URL with a host");
                continue;
            }

            targets.Add(new PushTarget(child.Key, text.Trim(), reader.Bool("Enabled") ?? true));
        }

        return targets.OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex PushNamePattern();

    private static Uri? ParseSource(string path, string? text, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add($"{path}:Source: is required (rtsp://…, rtsps://… or test:…)");
            return null;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var uri))
        {
            errors.Add($"{path}:Source: '{Redacted(text)}' is not a valid URI");
            return null;
        }

        var scheme = uri.Scheme.ToLowerInvariant();
        if (!SourceFactory.Schemes.Contains(scheme))
        {
            errors.Add($"{path}:Source: scheme '{uri.Scheme}' is not supported (use rtsp, rtsps or test)");
            return null;
        }

        if (scheme is "rtsp" or "rtsps" && string.IsNullOrEmpty(uri.Host))
        {
            errors.Add($"{path}:Source: '{SourceUri.Redact(uri)}' has no host");
            return null;
        }

        if (scheme == "test")
        {
            var (_, testErrors) = TestPatternOptions.Parse(uri);
            foreach (var error in testErrors)
            {
                errors.Add($"{path}:Source: {error}");
            }

            if (testErrors.Count > 0)
            {
                return null;
            }
        }

        return uri;
    }

    private static string Redacted(string text)
    {
        // An invalid URI may still carry a password; keep only what precedes any '@'.
        var at = text.LastIndexOf('@');
        var scheme = text.IndexOf("://", StringComparison.Ordinal);
        return at > 0 && scheme >= 0 && at > scheme ? $"{text[..(scheme + 3)]}***@{text[(at + 1)..]}" : text;
    }

    /// <summary>Reads typed values from one section, recording an error per bad value.</summary>
    private sealed class SectionReader(IConfigurationSection section, List<string> errors)
    {
        public string? String(string key) => section[key] is { Length: > 0 } v ? v : null;

        public void RejectUnknown(string[] known)
        {
            foreach (var child in section.GetChildren())
            {
                if (!known.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                {
                    errors.Add(Closest(child.Key, known) is { } closest
                        ? $"{child.Path}: unknown setting; did you mean {section.Path}:{closest}? (known: {string.Join(", ", known)})"
                        : $"{child.Path}: unknown setting (known: {string.Join(", ", known)})");
                }
            }
        }

        public int? Int(string key, int min, int max)
        {
            var text = String(key);
            if (text is null)
            {
                return null;
            }

            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            errors.Add($"{section.Path}:{key}: '{text}' must be a whole number from {min} to {max}");
            return null;
        }

        public bool? Bool(string key)
        {
            var text = String(key);
            if (text is null)
            {
                return null;
            }

            if (bool.TryParse(text, out var value))
            {
                return value;
            }

            errors.Add($"{section.Path}:{key}: '{text}' must be true or false");
            return null;
        }

        public TEnum Enum<TEnum>(string key, TEnum fallback)
            where TEnum : struct, Enum
        {
            var text = String(key);
            if (text is null)
            {
                return fallback;
            }

            if (System.Enum.TryParse<TEnum>(text, ignoreCase: true, out var value) && System.Enum.IsDefined(value) && !int.TryParse(text, out _))
            {
                return value;
            }

            errors.Add($"{section.Path}:{key}: '{text}' must be one of {string.Join(", ", System.Enum.GetNames<TEnum>().Select(n => n.ToLowerInvariant()))}");
            return fallback;
        }

        public TimeSpan? Duration(string key, bool allowZero = false)
        {
            var text = String(key);
            if (text is null)
            {
                return null;
            }

            if (DurationParser.TryParse(text, out var value) && (value > TimeSpan.Zero || (allowZero && value == TimeSpan.Zero)) && value <= TimeSpan.FromDays(1))
            {
                return value;
            }

            errors.Add($"{section.Path}:{key}: '{text}' must be a duration such as 500ms, 5s, 2m or 00:00:05{(allowZero ? string.Empty : ", above zero")}");
            return null;
        }
    }
}
