using System.Runtime.InteropServices;
using Memphys.Native;
using Memphys.Verification;

namespace Memphys.Tests.Device;

/// <summary>Shared pieces of the guest device suite: raw syscalls, the C probe, the seeded pattern.</summary>
internal static unsafe partial class DeviceSupport
{
    public const long Page = 4096;
    public const int MREMAP_MAYMOVE = 1;
    public const int MREMAP_FIXED = 2;
    public const int PROT_EXEC = 0x4;
    public const int SEEK_SET = 0;
    public const int SEEK_END = 2;

    /// <summary>errno of a libc call that returned <paramref name="result"/> (0 on success).</summary>
    private static int ErrnoOf(long result) => result == -1 ? Marshal.GetLastPInvokeError() : 0;

    public static int MProtect(nint address, long length, int protection) =>
        ErrnoOf(Interop.Libc.MProtect(address, (nuint)length, protection));

    public static int MRemap(nint address, long oldLength, long newLength, int flags, nint newAddress = 0) =>
        ErrnoOf(Interop.Libc.MRemap(address, (nuint)oldLength, (nuint)newLength, flags, newAddress));

    public static int LSeek(MemphysDevice dev, long offset, int whence, out long position)
    {
        position = Interop.Libc.LSeek(dev.Handle, offset, whence);
        return ErrnoOf(position);
    }

    /// <summary>mmap of the device with raw arguments; errno, or 0 after unmapping a success.</summary>
    public static int MMapErrno(MemphysDevice dev, long offset, long length, int protection, int flags)
    {
        nint p = Interop.Libc.MMap(0, (nuint)length, protection, flags, dev.Handle, offset);
        if (p == Interop.Libc.MAP_FAILED)
        {
            return Marshal.GetLastPInvokeError();
        }

        Interop.Libc.MUnmap(p, (nuint)length);
        return 0;
    }

    /// <summary>ioctl with a raw request and argument pointer; errno or 0.</summary>
    public static int IoctlErrno(MemphysDevice dev, uint request, void* argument) =>
        ErrnoOf(Interop.Libc.Ioctl(dev.Handle, request, argument));

    /// <summary>The errno a call through the typed API ended with (0 when it succeeded).</summary>
    public static int ErrnoOf(Action action)
    {
        try
        {
            action();
            return 0;
        }
        catch (Exception e) when (e is IMemphysError error)
        {
            return error.Errno;
        }
    }

    /// <summary>The word the probe and the tests write at the start of region page <paramref name="page"/>: <see cref="Pattern.PageWord"/>.</summary>
    public static ulong Word(ulong seed, ulong page) => Pattern.PageWord(seed, page);

    /// <summary>Asserts every page table entry of <paramref name="map"/> against <paramref name="expected"/> (the library's walk).</summary>
    public static void AssertPages(MemphysDevice dev, MemphysMapping map, PageExpectation expected, string what) =>
        AssertPassed(PageTableVerifier.Verify(dev, map, expected, what));

    /// <summary>Asserts that <paramref name="check"/> did not fail, with its failures as the message.</summary>
    public static void AssertPassed(Check check) => Assert.False(check.Failed, check.ToString());

    public static ulong* PageWord(MemphysMapping map, long page) => (ulong*)(map.Pointer + page * Page);

    public static ulong BasePfn(MemphysInfo info) => info.PhysicalBase / (ulong)Page;

    public static long RegionPages(MemphysInfo info) => (long)info.RegionSize / Page;

    /// <summary>Skips when the kernel has no ZONE_DEVICE (Debian's arm64 6.1): then no region has the pages method.</summary>
    public static void SkipWithoutZoneDevice()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        Assert.SkipWhen(dev.GetInfo().PagesErrno == Interop.Errors.EOPNOTSUPP,
            $"kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} has no ZONE_DEVICE memory (CONFIG_ZONE_DEVICE): no pages method");
    }

    public static string ProbePath()
    {
        // MEMPHYS_PROBE: the arm64 guests run the cross-built probe (tests/vm/arm64.sh).
        string path = Environment.GetEnvironmentVariable("MEMPHYS_PROBE") is { Length: > 0 } probe ? probe
            : Path.Combine(TestPaths.RepoRoot() ?? ".", "tests/native/bin/memphys-probe");
        Assert.True(File.Exists(path), $"{path} is missing: build it with 'make probe'");
        return path;
    }

    /// <summary>Runs memphys-probe and returns what follows "result: " on its output.</summary>
    public static string Probe(params string[] args)
    {
        (int exit, string output) = Run(ProbePath(), args);
        Assert.True(exit == 0, $"memphys-probe {string.Join(' ', args)} exited {exit}: {output}");
        string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("result: ", StringComparison.Ordinal));
        Assert.True(line is not null, $"memphys-probe {string.Join(' ', args)} printed no result: {output}");
        return line["result: ".Length..].Trim();
    }

    public static (int Exit, string Output) Run(string file, params string[] args)
    {
        ProcessResult result = ProcessRunner.Run(file, args);
        return (result.ExitCode, result.Output);
    }

    /// <summary>Resident set of this process, from /proc/self/status (bytes).</summary>
    public static long VmRssBytes()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>
    /// The methods whose mappings are VM_PFNMAP areas (no struct pages), which every region has; the pages
    /// method (a region loaded with <c>:pages</c>) is tested by <see cref="PagesMethodTests"/>.
    /// </summary>
    /// <summary>The running kernel's major.minor version, from /proc/sys/kernel/osrelease.</summary>
    public static Version KernelVersion()
    {
        string[] parts = File.ReadAllText("/proc/sys/kernel/osrelease").Trim().Split('.', '-', '+');
        return new Version(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>
    /// Whether a pages mapping's 4 KiB entries are referenced, rmapped pages (from 6.15: each counts in
    /// /proc/kpagecount and the mapping's Rss) rather than devmap entries, which take neither (up to 6.14).
    /// </summary>
    public static bool PagesEntriesRmapped() => KernelVersion() >= new Version(6, 15);

    /// <summary>
    /// Field <paramref name="name"/> (Rss, Pss, Private_Dirty, ...) of the mapping that starts at <paramref name="address"/>,
    /// from /proc/self/smaps, in bytes. Not for a mapping with 1 GiB entries: the smaps walk splits (zaps) them.
    /// </summary>
    public static ulong SmapsField(nint address, string name)
    {
        string start = ((ulong)address).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            // A mapping's header starts with its range; its fields with "Name:".
            string first = line.Split(' ')[0];
            if (!first.EndsWith(':'))
            {
                inside = first.StartsWith(start + "-", StringComparison.Ordinal);
            }
            else if (inside && first == name + ":")
            {
                return ulong.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"no mapping at 0x{start} in /proc/self/smaps");
    }

    public static readonly MappingMethod[] PfnMapMethods = [MappingMethod.Remap, MappingMethod.Fault];

    public static MemphysDevice OpenWith(MappingMethod method)
    {
        MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(method);
        dev.ResetStats();
        return dev;
    }
}
