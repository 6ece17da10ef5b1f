using System.Diagnostics;
using System.Reflection;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class Common
{
    /// <summary>Resolves --offset/--length against the region; 0 length means <paramref name="defaultLength"/> (capped at the region end).</summary>
    public static (long Offset, long Length) Range(MemphysInfo info, long offset, long length, long defaultLength)
    {
        long page = info.PageSize;
        if (offset % page != 0)
        {
            throw new UsageException($"--offset 0x{offset:x} is not a multiple of the {page}-byte page size");
        }

        if (length == 0)
        {
            length = Math.Min(defaultLength, (long)info.RegionSize - offset);
            if (length <= 0)
            {
                throw new UsageException($"--offset 0x{offset:x} is past the end of the {Output.Size(info.RegionSize)} region");
            }
        }

        if (length % page != 0)
        {
            throw new UsageException($"--length 0x{length:x} is not a multiple of the {page}-byte page size");
        }

        return (offset, length);
    }

    public static MappingMethod ParseMethod(string text) => text.ToLowerInvariant() switch
    {
        "remap" => MappingMethod.Remap,
        "fault" => MappingMethod.Fault,
        _ => throw new UsageException($"unknown method '{text}' (remap or fault)"),
    };

    public static string Name(MappingMethod method) => method.ToString().ToLowerInvariant();

    public static string FaultSizeList(FaultSizes sizes) =>
        string.Join(", ", FaultSize.ToBytes(sizes).Select(b => Output.Size(b)));

    public static JsonObject ToJson(MemphysInfo info) => new()
    {
        ["index"] = info.Index,
        ["version"] = info.Version,
        ["pageSize"] = info.PageSize,
        ["physBase"] = info.PhysicalBase,
        ["physEnd"] = info.PhysicalEnd,
        ["regionSize"] = info.RegionSize,
        ["methods"] = new JsonArray(info.SupportedMethods.Select(m => (JsonNode)Name(m)).ToArray()),
        ["caching"] = new JsonArray(info.SupportedCaching.Select(c => (JsonNode)c.ToString()).ToArray()),
        ["faultSizes"] = new JsonArray(FaultSize.ToBytes(info.FaultSizes).Select(b => (JsonNode)b).ToArray()),
        ["method"] = Name(info.Method),
        ["currentCaching"] = info.Caching.ToString(),
        ["maxFaultSize"] = info.MaxFaultSize,
    };

    public static JsonObject ToJson(MemphysStats s) => new()
    {
        ["mmapCalls"] = s.MmapCalls,
        ["bytesRemapped"] = s.BytesRemapped,
        ["pteFaults"] = s.PteFaults,
        ["pmdFaults"] = s.PmdFaults,
        ["pudFaults"] = s.PudFaults,
        ["fallbackFaults"] = s.FallbackFaults,
        ["refused"] = s.Refused,
    };

    public static IEnumerable<(string, string)> StatsRows(MemphysStats s) =>
    [
        ("mmap calls", s.MmapCalls.ToString()),
        ("bytes remapped", s.BytesRemapped.ToString()),
        ("pte faults", s.PteFaults.ToString()),
        ("pmd faults", s.PmdFaults.ToString()),
        ("pud faults", s.PudFaults.ToString()),
        ("fallback faults", s.FallbackFaults.ToString()),
        ("refused", s.Refused.ToString()),
    ];

    /// <summary>
    /// Start info for running this CLI again as a child: <c>Environment.ProcessPath</c>, plus the entry assembly
    /// when the process is the <c>dotnet</c> host (<c>dotnet memphys.dll ...</c>).
    /// </summary>
    public static ProcessStartInfo ChildStartInfo(IEnumerable<string> args)
    {
        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot determine the process path");
        var psi = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, typeof(Program).Assembly.GetName().Name + ".dll"));
        }

        psi.ArgumentList.Add("_child");
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }

    /// <summary>Runs a child to completion; returns exit code, stdout and stderr.</summary>
    public static (int Code, string Stdout, string Stderr) RunChild(IEnumerable<string> args)
    {
        using Process process = Process.Start(ChildStartInfo(args)) ?? throw new InvalidOperationException("failed to start child process");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public static string Inv(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
    public static string Inv(ulong v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
