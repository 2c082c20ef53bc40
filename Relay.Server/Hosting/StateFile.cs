using System.Text;
using System.Text.Json;
using Relay.Server.Interop;

namespace Relay.Server.Hosting;

/// <summary>
/// What the API changed, kept over restarts: streams and channels made or replaced through the API (their settings,
/// credentials included) and configuration streams and channels deleted through it.
/// </summary>
/// <param name="Streams">Settings of each stream the API made or changed, by name.</param>
/// <param name="Removed">Names of configuration streams the API deleted.</param>
/// <param name="Channels">The stream each channel the API made or changed shows, by channel name.</param>
/// <param name="RemovedChannels">Names of configuration channels the API deleted.</param>
internal sealed record StoredStreams(
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Streams,
    IReadOnlySet<string> Removed,
    IReadOnlyDictionary<string, string> Channels,
    IReadOnlySet<string> RemovedChannels)
{
    public static StoredStreams Empty { get; } = new(
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase),
        new HashSet<string>(StringComparer.OrdinalIgnoreCase),
        new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
        new HashSet<string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>Gets a copy with the stream <paramref name="name"/> set to <paramref name="settings"/>.</summary>
    public StoredStreams With(string name, IReadOnlyDictionary<string, string> settings) =>
        this with { Streams = Set(Streams, name, settings), Removed = Unmark(Removed, name) };

    /// <summary>Gets a copy without the stream <paramref name="name"/>; remembered as deleted when the configuration has it.</summary>
    public StoredStreams Without(string name, bool inFile) =>
        this with { Streams = Unset(Streams, name), Removed = inFile ? Mark(Removed, name) : Removed };

    /// <summary>Gets a copy with the channel <paramref name="name"/> showing <paramref name="stream"/>.</summary>
    public StoredStreams WithChannel(string name, string stream) =>
        this with { Channels = Set(Channels, name, stream), RemovedChannels = Unmark(RemovedChannels, name) };

    /// <summary>Gets a copy without the channel <paramref name="name"/>; remembered as deleted when the configuration has it.</summary>
    public StoredStreams WithoutChannel(string name, bool inFile) =>
        this with { Channels = Unset(Channels, name), RemovedChannels = inFile ? Mark(RemovedChannels, name) : RemovedChannels };

    private static Dictionary<string, T> Set<T>(IReadOnlyDictionary<string, T> map, string key, T value) =>
        new(map, StringComparer.OrdinalIgnoreCase) { [key] = value };

    private static Dictionary<string, T> Unset<T>(IReadOnlyDictionary<string, T> map, string key)
    {
        var copy = new Dictionary<string, T>(map, StringComparer.OrdinalIgnoreCase);
        copy.Remove(key);
        return copy;
    }

    private static HashSet<string> Mark(IReadOnlySet<string> set, string name) => new(set, StringComparer.OrdinalIgnoreCase) { name };

    private static HashSet<string> Unmark(IReadOnlySet<string> set, string name)
    {
        var copy = new HashSet<string>(set, StringComparer.OrdinalIgnoreCase);
        copy.Remove(name);
        return copy;
    }
}

/// <summary>
/// Reads and writes <see cref="StoredStreams"/> as JSON. A write never leaves a file that does not load: it goes to a
/// temporary file beside the target, which is flushed to disk and renamed over it (rename is atomic), and the
/// directory is flushed so the rename survives a power cut. The file holds camera credentials: it is readable by
/// the relay's user only.
/// </summary>
internal static class StateFile
{
    private const int Version = 1;

    /// <summary>Reads the state file; a missing file is an empty state.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a state file Relay can read.</exception>
    public static StoredStreams Load(string path)
    {
        if (!File.Exists(path))
        {
            return StoredStreams.Empty;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("version", out var version) || version.GetInt32() != Version)
            {
                throw new InvalidDataException($"'{path}' is not a version {Version} Relay state file");
            }

            var streams = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
            foreach (var stream in root.GetProperty("streams").EnumerateObject())
            {
                var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                foreach (var setting in stream.Value.EnumerateObject())
                {
                    settings[setting.Name] = setting.Value.GetString() ?? string.Empty;
                }

                streams[stream.Name] = settings;
            }

            var channels = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("channels", out var stored))
            {
                foreach (var channel in stored.EnumerateObject())
                {
                    channels[channel.Name] = channel.Value.GetProperty("stream").GetString() ?? string.Empty;
                }
            }

            return new StoredStreams(streams, Names(root, "removed"), channels, Names(root, "removedChannels"));
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{path}' could not be read as a Relay state file: {e.Message}", e);
        }
    }

    private static HashSet<string> Names(JsonElement root, string property) =>
        new(root.TryGetProperty(property, out var names) ? names.EnumerateArray().Select(e => e.GetString() ?? string.Empty) : [], StringComparer.OrdinalIgnoreCase);

    /// <summary>Replaces the state file with <paramref name="state"/>, atomically.</summary>
    public static void Save(string path, StoredStreams state)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var file = new FileStream(temporary, options))
            {
                file.Write(Serialize(state));
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        FlushDirectory(directory);
    }

    /// <summary>Gets the JSON of <paramref name="state"/>.</summary>
    public static byte[] Serialize(StoredStreams state)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("version", Version);
            json.WriteString("note", "Streams and channels made or changed through the Relay API. Written by Relay: change them through the API, or edit the configuration file instead.");
            json.WriteStartObject("streams");
            foreach (var (name, settings) in state.Streams.OrderBy(s => s.Key, StringComparer.OrdinalIgnoreCase))
            {
                json.WriteStartObject(name);
                foreach (var (key, value) in settings)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
            WriteNames(json, "removed", state.Removed);
            json.WriteStartObject("channels");
            foreach (var (name, stream) in state.Channels.OrderBy(c => c.Key, StringComparer.OrdinalIgnoreCase))
            {
                json.WriteStartObject(name);
                json.WriteString("stream", stream);
                json.WriteEndObject();
            }

            json.WriteEndObject();
            WriteNames(json, "removedChannels", state.RemovedChannels);
            json.WriteEndObject();
        }

        buffer.Write(Encoding.UTF8.GetBytes(Environment.NewLine));
        return buffer.ToArray();
    }

    private static void WriteNames(Utf8JsonWriter json, string property, IReadOnlySet<string> names)
    {
        json.WriteStartArray(property);
        foreach (var name in names.Order(StringComparer.OrdinalIgnoreCase))
        {
            json.WriteStringValue(name);
        }

        json.WriteEndArray();
    }

    private static void FlushDirectory(string directory)
    {
        var fd = LibC.open(directory, LibC.ODirectoryReadOnly);
        if (fd >= 0)
        {
            LibC.fsync(fd);
            LibC.close(fd);
        }
    }
}
