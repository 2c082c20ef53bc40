using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Relay.Benchmarks -- --filter '*'
// Reports time per operation and bytes allocated per operation (MemoryDiagnoser); see HotPathBenchmarks.
// dotnet run -c Release --project bench/Relay.Benchmarks -- --check   verifies that every send delivers the same datagrams.
if (args is ["--check"])
{
    foreach (var line in Relay.Benchmarks.HotPathBenchmarks.Check())
    {
        Console.WriteLine(line);
    }

    return;
}

BenchmarkSwitcher.FromAssembly(typeof(Relay.Benchmarks.HotPathBenchmarks).Assembly).Run(args);
