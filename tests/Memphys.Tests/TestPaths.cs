namespace Memphys.Tests;

/// <summary>Locates files of the source tree from the test binary's directory.</summary>
internal static class TestPaths
{
    public const string UapiHeaderRelative = "driver/include/uapi/linux/memphys.h";

    /// <summary>The repository root (the first ancestor holding Managed.sln), or null.</summary>
    public static string? RepoRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Managed.sln")))
            {
                return d.FullName;
            }
        }

        return null;
    }

    /// <summary>Full path of an executable on PATH, or null.</summary>
    public static string? Which(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
