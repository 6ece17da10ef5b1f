namespace Memphys.Tests.Device;

/// <summary>A cgroup v2 memory cgroup this process moves into for the lifetime of the object.</summary>
internal sealed class MemoryCgroup : IDisposable
{
    private const string Root = "/sys/fs/cgroup";
    private readonly string _path;
    private readonly string _previous;

    private MemoryCgroup(string path, string previous)
    {
        _path = path;
        _previous = previous;
    }

    public static MemoryCgroup Enter(string name)
    {
        if (!File.Exists(Path.Combine(Root, "cgroup.controllers")))
        {
            (int exit, string output) = DeviceSupport.Run("mount", "-t", "cgroup2", "none", Root);
            Assert.True(exit == 0, $"mounting cgroup2 on {Root}: {output}");
        }

        string previous = File.ReadAllText("/proc/self/cgroup").Trim().Split("::", 2)[1];
        File.WriteAllText(Path.Combine(Root, "cgroup.subtree_control"), "+memory");
        string path = Path.Combine(Root, name);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "cgroup.procs"), Environment.ProcessId.ToString());
        return new MemoryCgroup(path, previous);
    }

    public long CurrentBytes() => long.Parse(File.ReadAllText(Path.Combine(_path, "memory.current")).Trim(),
        System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        File.WriteAllText(Path.Combine(Root + _previous, "cgroup.procs"), Environment.ProcessId.ToString());
        Directory.Delete(_path);
    }
}
