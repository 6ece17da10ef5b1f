using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class Common
{
    /// <summary>
    /// Resolves --offset/--length against the region: 0 length means <paramref name="defaultLength"/> capped at the
    /// region end. A range that does not fit in the region is a usage error (exit 2), whichever option caused it.
    /// </summary>
    public static (long Offset, long Length) Range(MemphysInfo info, long offset, long length, long defaultLength)
    {
        long region = info.RegionSize;
        if (offset >= region)
        {
            throw new UsageException($"--offset 0x{offset:x} is past the end of the {Output.Size(region)} region");
        }

        long room = region - offset;
        if (length == 0)
        {
            length = Math.Min(defaultLength, room);
        }

        if (length > room)
        {
            throw new UsageException($"--offset 0x{offset:x} + --length 0x{length:x} runs past the end of the {Output.Size(region)} region " +
                $"(at most 0x{room:x} bytes from there)");
        }

        return (offset, length);
    }

    /// <summary>
    /// Fails now, before any work, unless <paramref name="path"/> (an output file of <paramref name="option"/>) can be
    /// written: a missing folder or a refused one is an OS error (exit 4), a folder instead of a file a usage error.
    /// A file this creates is removed again; the command writes it when it is done.
    /// </summary>
    public static void CheckWritable(string path, string option)
    {
        if (Directory.Exists(path))
        {
            throw new UsageException($"{option} {path} is a directory: give a file name");
        }

        bool existed = File.Exists(path);
        try
        {
            using (new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw e is UnauthorizedAccessException
                ? new UnauthorizedAccessException($"{option} {path}: permission denied")
                : e is DirectoryNotFoundException
                    ? new DirectoryNotFoundException($"{option} {path}: the folder does not exist")
                    : new IOException($"{option} {path}: {e.Message}");
        }

        if (!existed)
        {
            File.Delete(path);
        }
    }

    public static MappingMethod ParseMethod(string text) => text.ToLowerInvariant() switch
    {
        "remap" => MappingMethod.Remap,
        "fault" => MappingMethod.Fault,
        "pages" => MappingMethod.Pages,
        _ => throw new UsageException($"unknown method '{text}' (remap, fault or pages)"),
    };

    /// <summary>A method's name in text and JSON: <c>remap</c>, <c>fault</c>, <c>pages</c>.</summary>
    public static string Name(MappingMethod method) => method.ToString().ToLowerInvariant();

    /// <summary>A caching mode's name in text and JSON, as in the UAPI (<c>MEMPHYS_CACHE_WB</c>): <c>wb</c>, <c>wc</c>, <c>uc</c>.</summary>
    public static string Name(CachingMode caching) => caching switch
    {
        CachingMode.WriteBack => "wb",
        CachingMode.WriteCombining => "wc",
        CachingMode.Uncached => "uc",
        _ => Inv((ulong)caching),
    };

    public static string FaultAroundText(uint pages) => pages switch
    {
        0 => "not reported by this driver",
        1 => "off (1 page per 4 KiB fault)",
        _ => $"{Common.Inv(pages)} pages per 4 KiB fault ({Output.Size(pages * 4096UL)} window)",
    };

    /// <summary>Applies --fault-around when it was given (0: keep the driver's default).</summary>
    public static void SetFaultAround(MemphysDevice dev, uint pages)
    {
        if (pages != 0)
        {
            dev.SetFaultAround(pages);
        }
    }

    public static string FaultSizeList(FaultSizes sizes) =>
        string.Join(", ", FaultSize.ToBytes(sizes).Select(Output.Size));

    public static JsonObject ToJson(MemphysInfo info) => new()
    {
        ["index"] = info.Index,
        ["uapiVersion"] = info.Version,
        ["pageSize"] = info.PageSize,
        ["physicalBase"] = info.PhysicalBase,
        ["physicalEnd"] = info.PhysicalEnd,
        ["regionSize"] = info.RegionSize,
        ["supportedMethods"] = new JsonArray(info.SupportedMethods.Select(m => (JsonNode)Name(m)).ToArray()),
        ["pagesErrno"] = info.PagesErrno,
        ["supportedCaching"] = new JsonArray(info.SupportedCaching.Select(c => (JsonNode)Name(c)).ToArray()),
        ["faultSizes"] = new JsonArray(FaultSize.ToBytes(info.FaultSizes).Select(b => (JsonNode)b).ToArray()),
        ["method"] = Name(info.Method),
        ["caching"] = Name(info.Caching),
        ["maxFaultSize"] = info.MaxFaultSize,
        ["faultAround"] = info.FaultAround,
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
        ["prefaulted"] = s.Prefaulted,
    };

    public static IEnumerable<(string, string)> StatsRows(MemphysStats s) =>
    [
        ("mmap calls", Output.Count(s.MmapCalls)),
        ("bytes remapped", Output.Size(s.BytesRemapped)),
        ("pte faults", Output.Count(s.PteFaults)),
        ("pmd faults", Output.Count(s.PmdFaults)),
        ("pud faults", Output.Count(s.PudFaults)),
        ("fallback faults", Output.Count(s.FallbackFaults)),
        ("refused", Output.Count(s.Refused)),
        ("prefaulted", $"{Output.Count(s.Prefaulted)} (fault-around)"),
    ];

    /// <summary>
    /// Start info for running this CLI again as a child: <c>Environment.ProcessPath</c>, plus the entry assembly
    /// when the process is the <c>dotnet</c> host (<c>dotnet memphys.dll ...</c>). MEMPHYS_CLI names the CLI to run
    /// instead, for a process that is neither (the self-contained test suite of the arm64 guests).
    /// </summary>
    public static ProcessStartInfo ChildStartInfo(IEnumerable<string> args)
    {
        if (Environment.GetEnvironmentVariable("MEMPHYS_CLI") is { Length: > 0 } cli)
        {
            return ProcessRunner.StartInfo(cli, new[] { "_child" }.Concat(args));
        }

        string host = Environment.ProcessPath ?? throw new InvalidOperationException("cannot determine the process path");
        IEnumerable<string> prefix = Path.GetFileNameWithoutExtension(host).Equals("dotnet", StringComparison.OrdinalIgnoreCase)
            ? [Path.Combine(AppContext.BaseDirectory, typeof(Program).Assembly.GetName().Name + ".dll"), "_child"]
            : ["_child"];
        return ProcessRunner.StartInfo(host, prefix.Concat(args));
    }

    /// <summary>
    /// The second-process check of <c>verify</c>: runs <c>memphys _child read</c>, which maps the range by the
    /// requested method in a new process and compares it with the pattern.
    /// </summary>
    public static void ChildRead(Memphys.Verification.SecondProcessRequest request, Memphys.Verification.Check check)
    {
        ProcessResult r = ProcessRunner.Run(ChildStartInfo(
        [
            "read", "--device", request.DevicePath, "--method", Name(request.Method), "--offset", Inv(request.Offset),
            "--length", Inv(request.Length), "--seed", Inv(request.Seed),
        ]));
        check.AddDetail(r.Stdout.Trim());
        check.Expect(r.ExitCode == 0, $"child exit code {r.ExitCode}: {(r.Stderr.Trim().Length > 0 ? r.Stderr.Trim() : r.Stdout.Trim())}");
    }

    public static string Inv(long v) => v.ToString(CultureInfo.InvariantCulture);

    public static string Inv(ulong v) => v.ToString(CultureInfo.InvariantCulture);
}
