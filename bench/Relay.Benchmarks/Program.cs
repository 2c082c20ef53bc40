using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Relay.Benchmarks -- --filter '*'
// Reports time per operation and bytes allocated per operation (MemoryDiagnoser); see HotPathBenchmarks.
BenchmarkSwitcher.FromAssembly(typeof(Relay.Benchmarks.HotPathBenchmarks).Assembly).Run(args);
