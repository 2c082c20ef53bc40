namespace Relay.Tests.Fixtures;

/// <summary>
/// Tests that measure how fast something happens (a player's first frame, a channel switch), and tests heavy enough
/// to starve others (many processes), run in this collection: one at a time and apart from the parallel tests, so
/// that two cores busy with other tests' cameras and relays do not decide a figure.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "timing";
}
