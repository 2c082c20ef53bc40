using System.IO;
using System.Text;
using System.Text.Json;
using Relay.Server.Interop;

namespace Relay.Server.Hosting;

/// <summary>
/// What the API changed, kept over restarts: streams made or replaced through the API (their settings, credentials
/// included) and configuration-file streams deleted through it.
/// </summary>
/// <param name="Streams">Settings of each stream the API made or changed, by name.</param>
/// <param name="Removed">Names of configuration-file streams the API deleted.</param>
internal sealed record StoredStreams(IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Streams, IReadOnlySet<string> Removed)
{
    public static StoredStreams Empty { get; } = new(
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase),
        new HashSet<string>(StringComparer.OrdinalIgnoreCase));

    /// <summary>Gets a copy with <paramref name="name"/> set to <paramref name="settings"/>.</summary>
    public StoredStreams With(string name, IReadOnlyDictionary<string, string> settings)
    {
        var streams = new Dictionary<string, IReadOnlyDictionary<string, string>>(Streams, StringComparer.OrdinalIgnoreCase) { [name] = settings };
        var removed = new HashSet<string>(Removed, StringComparer.OrdinalIgnoreCase);
        removed.Remove(name);
        return new(streams, removed);
    }

    /// <summary>Gets a copy without <paramref name="name"/>; remembered as deleted when the configuration file has it.</summary>
    public StoredStreams Without(string name, bool inFile)
    {
        var streams = new Dictionary<string, IReadOnlyDictionary<string, string>>(Streams, StringComparer.OrdinalIgnoreCase);
        streams.Remove(name);
        var removed = new HashSet<string>(Removed, StringComparer.OrdinalIgnoreCase);
        if (inFile)
        {
            removed.Add(name);
        }

        return new(streams, removed);
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

            var removed = new HashSet<string>(root.GetProperty("removed").EnumerateArray().Select(e => e.GetString() ?? string.Empty), StringComparer.OrdinalIgnoreCase);
            return new StoredStreams(streams, removed);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{path}' could not be read as a Relay state file: {e.Message}", e);
        }
    }

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
            json.WriteString("note", "Streams made or changed through Relay's API. Written by Relay; edit the configuration file instead.");
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
            json.WriteStartArray("removed");
            foreach (var name in state.Removed.Order(StringComparer.OrdinalIgnoreCase))
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        buffer.Write(Encoding.UTF8.GetBytes(Environment.NewLine));
        return buffer.ToArray();
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
