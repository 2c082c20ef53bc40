using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Relay.Configuration;
using Relay.Server.Sources;

namespace Relay.Server.Configuration;

/// <summary>
/// A stream's settings as text, keyed like <c>Relay:Streams:{name}:{key}</c>: what the API reads and writes and what
/// the state file holds. Validation is <see cref="RelayConfigLoader.LoadStream"/>'s, so the API, the state file and
/// the configuration file accept exactly the same values and report the same problems.
/// </summary>
internal static class StreamSettings
{
    /// <summary>Gets every setting of a stream, in the order the documentation lists them.</summary>
    public static IReadOnlyList<string> Keys => RelayConfigLoader.StreamKeys;

    /// <summary>Renders a stream's configuration as its settings (every one, defaults included).</summary>
    /// <param name="config">The stream's configuration.</param>
    /// <param name="redact">Whether to remove credentials from the source (for responses), or keep them (for the state file).</param>
    public static Dictionary<string, string> From(StreamConfig config, bool redact)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Source"] = redact ? SourceUri.Redact(config.Source) : config.Source.OriginalString,
            ["Transport"] = config.Transport.ToString().ToLowerInvariant(),
            ["StartAt"] = config.StartAt.ToString().ToLowerInvariant(),
            ["OnDemand"] = config.OnDemand ? "true" : "false",
            ["IdleTimeout"] = Duration(config.IdleTimeout),
            ["ConnectTimeout"] = Duration(config.ConnectTimeout),
            ["StallTimeout"] = Duration(config.StallTimeout),
        };
        if (config.Latency is { } latency)
        {
            settings["Latency"] = Duration(latency);
        }

        settings["RetryDelay"] = Duration(config.RetryDelay);
        settings["MaxRetryDelay"] = Duration(config.MaxRetryDelay);
        settings["GopCacheMaxBytes"] = config.GopCacheMaxBytes.ToString(CultureInfo.InvariantCulture);
        settings["GopCacheMaxDuration"] = Duration(config.GopCacheMaxDuration);
        settings["ReaderQueueMaxBytes"] = config.ReaderQueueMaxBytes.ToString(CultureInfo.InvariantCulture);
        settings["ReaderQueueMaxFrames"] = config.ReaderQueueMaxFrames.ToString(CultureInfo.InvariantCulture);
        settings["ReaderStallTimeout"] = Duration(config.ReaderStallTimeout);
        if (config.Node is { } node)
        {
            settings["Node"] = node;
        }

        foreach (var target in config.Push)
        {
            settings[$"Push:{target.Name}:Url"] = redact ? SourceUri.Redact(new Uri(target.Url)) : target.Url;
            if (!target.Enabled)
            {
                settings[$"Push:{target.Name}:Enabled"] = "false";
            }
        }

        return settings;
    }

    /// <summary>
    /// Renders the settings that differ from the defaults (and the source), credentials included: what the state file
    /// keeps, so that a stream made through the API follows later changes of a default like a configured one.
    /// </summary>
    public static Dictionary<string, string> Explicit(StreamConfig config)
    {
        var defaults = From(new StreamConfig { Name = config.Name, Source = config.Source }, redact: false);
        var settings = From(config, redact: false);
        return settings.Where(s => s.Key == "Source" || !defaults.TryGetValue(s.Key, out var d) || d != s.Value)
            .ToDictionary(s => s.Key, s => s.Value, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Validates settings for the stream <paramref name="name"/>.</summary>
    /// <returns>The configuration, or every problem keyed by the setting it is about (<c>name</c> for the name itself).</returns>
    public static (StreamConfig? Config, Dictionary<string, List<string>> Problems) Validate(string name, IReadOnlyDictionary<string, string> settings)
    {
        var prefix = $"{RelayConfig.SectionName}:Streams:{name}";
        var section = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>($"{prefix}:{s.Key}", s.Value)))
            .Build()
            .GetSection(prefix);
        var (config, errors) = RelayConfigLoader.LoadStream(name, section);
        var problems = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        foreach (var error in errors)
        {
            // Errors read "Relay:Streams:{name}:{Key}: what is wrong"; the key is what a form shows it beside.
            var (key, message) = error.StartsWith(prefix + ":", StringComparison.OrdinalIgnoreCase) && error.IndexOf(": ", prefix.Length + 1, StringComparison.Ordinal) is var end and > 0
                ? (error[(prefix.Length + 1)..end], error[(end + 2)..])
                : ("name", error);
            Add(problems, key, message);
        }

        return (config, problems);
    }

    /// <summary>
    /// Reads settings from a JSON object (<c>{"source": "rtsp://…", "onDemand": true, "idleTimeout": "30s"}</c>):
    /// property names in any case, values as strings, numbers or booleans. A <c>null</c> value is kept as null
    /// (PATCH: back to the default). Anything else is a problem for its key.
    /// </summary>
    public static Dictionary<string, string?> Read(JsonElement body, Dictionary<string, List<string>> problems, params string[] ignored)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in body.EnumerateObject())
        {
            if (ignored.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            var key = Keys.FirstOrDefault(k => string.Equals(k, property.Name, StringComparison.OrdinalIgnoreCase));
            if (key is null)
            {
                Add(problems, property.Name, $"unknown setting (known: {string.Join(", ", Keys.Select(CamelCase))})");
                continue;
            }

            if (settings.ContainsKey(key))
            {
                Add(problems, property.Name, "given twice");
                continue;
            }

            var value = property.Value;
            switch (value.ValueKind)
            {
                case JsonValueKind.String:
                    settings[key] = value.GetString();
                    break;
                case JsonValueKind.Number:
                    settings[key] = value.GetRawText();
                    break;
                case JsonValueKind.True or JsonValueKind.False:
                    settings[key] = value.GetBoolean() ? "true" : "false";
                    break;
                case JsonValueKind.Null:
                    settings[key] = null;
                    break;
                case JsonValueKind.Array when key == "Node" && value.EnumerateArray().All(v => v.ValueKind == JsonValueKind.String):
                    settings[key] = string.Join(',', value.EnumerateArray().Select(v => v.GetString()));
                    break;
                case JsonValueKind.Object when key == "Push":
                    // {"push": {"youtube": "rtmp://…", "wowza": {"url": "rtsp://…", "enabled": false}}}
                    foreach (var target in value.EnumerateObject())
                    {
                        if (target.Value.ValueKind == JsonValueKind.String)
                        {
                            settings[$"Push:{target.Name}:Url"] = target.Value.GetString();
                            continue;
                        }

                        if (target.Value.ValueKind != JsonValueKind.Object)
                        {
                            Add(problems, $"Push:{target.Name}", "must be a URL or an object with url (and enabled)");
                            continue;
                        }

                        foreach (var field in target.Value.EnumerateObject())
                        {
                            settings[$"Push:{target.Name}:{char.ToUpperInvariant(field.Name[0])}{field.Name[1..]}"] = field.Value.ValueKind switch
                            {
                                JsonValueKind.True => "true",
                                JsonValueKind.False => "false",
                                JsonValueKind.String => field.Value.GetString(),
                                _ => field.Value.GetRawText(),
                            };
                        }
                    }

                    break;
                default:
                    Add(problems, property.Name, $"must be a string, a number or a boolean, not {value.ValueKind.ToString().ToLowerInvariant()}");
                    break;
            }
        }

        return settings;
    }

    /// <summary>Gets a setting's name as the API spells it (camelCase).</summary>
    public static string CamelCase(string key) => key.Length == 0 ? key : char.ToLowerInvariant(key[0]) + key[1..];

    /// <summary>Renders the settings for a response: camelCase keys.</summary>
    public static Dictionary<string, string> ForResponse(StreamConfig config) =>
        From(config, redact: true).ToDictionary(s => CamelCase(s.Key), s => s.Value);

    /// <summary>Adds a problem about a setting to the list kept for that setting (named as the API spells it).</summary>
    public static void Add(Dictionary<string, List<string>> problems, string key, string message)
    {
        var name = CamelCase(key);
        if (!problems.TryGetValue(name, out var list))
        {
            problems[name] = list = [];
        }

        list.Add(message);
    }

    private static string Duration(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerSecond == 0
            ? $"{(long)value.TotalSeconds}s"
            : $"{value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture)}ms";
}
