namespace Relay.Tests.Fixtures;

/// <summary>
/// Tests that measure how fast something happens (a player's first frame, latency) run in this collection: after the
/// parallel tests and alone, so that two cores busy with other tests' cameras and relays do not decide the figure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing";
}
