using Relay.Media;
using Relay.Server.Streams;

namespace Relay.Tests.Fixtures;

/// <summary>A copy of an access unit a test reader received.</summary>
public sealed record ReceivedUnit(int Track, TimeSpan Pts, TimeSpan Dts, bool IsKeyframe, byte[] Data, DateTime ReceivedAt)
{
    /// <summary>Reads units from <paramref name="reader"/> until <paramref name="until"/> holds or the timeout passes.</summary>
    internal static async Task<List<ReceivedUnit>> CollectAsync(AccessUnitReader reader, Func<List<ReceivedUnit>, bool> until, TimeSpan timeout)
    {
        var received = new List<ReceivedUnit>();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (!until(received))
            {
                var unit = await reader.ReadAsync(cts.Token);
                if (unit is null)
                {
                    break;
                }

                try
                {
                    received.Add(new ReceivedUnit(unit.TrackIndex, unit.Pts, unit.Dts, unit.IsKeyframe, unit.Data.ToArray(), DateTime.UtcNow));
                }
                finally
                {
                    unit.Release();
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s; received {received.Count} unit(s).");
        }

        return received;
    }
}
