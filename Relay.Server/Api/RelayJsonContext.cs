using System.Text.Json;
using System.Text.Json.Serialization;
using Relay.Api;

namespace Relay.Server.Api;

/// <summary>Source-generated JSON for the API (Native AOT needs no reflection): camelCase, enums as strings.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(StreamStatus))]
[JsonSerializable(typeof(ServerInfo))]
[JsonSerializable(typeof(ChannelStatus))]
[JsonSerializable(typeof(StreamRequest))]
[JsonSerializable(typeof(ChannelRequest))]
[JsonSerializable(typeof(IReadOnlyList<ChannelStatus>))]
[JsonSerializable(typeof(StreamStatus[]))]
[JsonSerializable(typeof(IReadOnlyList<StreamStatus>))]
internal sealed partial class RelayJsonContext : JsonSerializerContext;
