namespace Relay.Tests.Fixtures;

/// <summary>The repository the tests run from: its files (the Dockerfile, k8s/) and the test-time tools in <c>.tools/</c>.</summary>
public static class Repository
{
    /// <summary>Gets the repository's root (where Relay.sln is), found above the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>Gets a path in the repository.</summary>
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Gets a test-time tool installed by <c>scripts/install-deps.sh --test</c> under <c>.tools/</c>, asserting it is there.</summary>
    /// <param name="parts">Its path under <c>.tools/</c>, for example <c>k8s</c>, <c>node_modules</c>, <c>.bin</c>, <c>dockerfilelint</c>.</param>
    public static string Tool(params string[] parts)
    {
        var path = Path.Combine([Root, ".tools", .. parts]);
        return System.IO.File.Exists(path) || Directory.Exists(path)
            ? path
            : throw new InvalidOperationException($"{path} is not installed: run scripts/install-deps.sh --test.");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Relay.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Relay.sln not found above the test binaries");
    }
}
