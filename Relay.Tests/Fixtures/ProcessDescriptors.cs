namespace Relay.Tests.Fixtures;

/// <summary>A process's open file descriptors, read from /proc.</summary>
public static class ProcessDescriptors
{
    /// <summary>
    /// Gets what each open descriptor of <paramref name="pid"/> points to (socket:[inode], anon_inode:[eventfd],
    /// files). A descriptor closed while it is read is skipped; a process that is gone throws.
    /// </summary>
    public static List<string> Targets(int pid)
    {
        var targets = new List<string>();
        foreach (var fd in Directory.GetFileSystemEntries($"/proc/{pid}/fd"))
        {
            try
            {
                targets.Add(new FileInfo(fd).LinkTarget ?? "?");
            }
            catch (IOException)
            {
                // Closed meanwhile.
            }
        }

        return targets;
    }
}
