using Relay.Fuzz;
using SharpFuzz;

// Relay.Fuzz TARGET                 run under afl-fuzz (input on stdin, see scripts/fuzz.sh)
// Relay.Fuzz TARGET --run PATH...   run the target on files (or every file in directories): replays a corpus or a finding
if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"Usage: Relay.Fuzz TARGET [--run FILE|DIR ...]; targets: {string.Join(", ", Targets.All.Keys)}");
    return 2;
}

if (args.Length > 1 && args[1] == "--run")
{
    var files = args.Skip(2).SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]).ToList();
    foreach (var file in files)
    {
        target(File.ReadAllBytes(file));
    }

    Console.WriteLine($"{args[0]}: {files.Count} input(s), no finding");
    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var copy = new MemoryStream();
    stream.CopyTo(copy);
    target(copy.ToArray());
});
return 0;
