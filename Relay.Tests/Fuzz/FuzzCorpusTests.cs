using Relay.Fuzz;
using Relay.Tests.Fixtures;

namespace Relay.Tests.Fuzz;

/// <summary>
/// The fuzzing targets run on their seed corpus and on every past finding (Relay.Fuzz/corpus), in process: what the
/// fuzzer once found stays fixed. The fuzzing itself is scripts/fuzz.sh.
/// </summary>
public sealed class FuzzCorpusTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var target in Targets.All.Keys)
        {
            foreach (var file in Directory.EnumerateFiles(Repository.File($"Relay.Fuzz/corpus/{target}")).Order(StringComparer.Ordinal))
            {
                data.Add(target, Path.GetFileName(file));
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_corpus_input_is_handled(string target, string file) =>
        Targets.All[target](File.ReadAllBytes(Repository.File($"Relay.Fuzz/corpus/{target}/{file}")));

    [Fact]
    public void Every_target_has_a_seed_corpus() =>
        Assert.All(Targets.All.Keys, t => Assert.NotEmpty(Directory.EnumerateFiles(Repository.File($"Relay.Fuzz/corpus/{t}"))));
}
