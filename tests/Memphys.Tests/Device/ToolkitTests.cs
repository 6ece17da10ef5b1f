using Memphys.Cli;
using Memphys.Verification;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// The C# toolkit against the real driver: the verification library that <c>memphys verify</c> prints, the CLI's
/// range checks through its real entry point, and the library's own checks of the driver's replies.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class ToolkitTests
{
    /// <summary>Every check of <c>memphys verify</c> on 16 MiB at an offset, the second process included (the CLI's child).</summary>
    [DeviceFact]
    public void TheVerificationSuitePasses()
    {
        VerificationReport report = RegionVerifier.Run(DeviceEnvironment.DevicePath, new VerifyOptions
        {
            Offset = 64 * Page,
            Length = 16L << 20,
            Seed = 77,
            SecondProcess = Common.ChildRead,
        });
        Assert.All(report.Checks, AssertPassed);
        Assert.Contains(report.Checks, c => c.Name.StartsWith("second process (fault)", StringComparison.Ordinal) && c.Status == CheckStatus.Passed);
        Assert.True(report.Checks.Count(c => c.Status == CheckStatus.Passed) >= 12, string.Join("\n", report.Checks));
    }

    [DeviceFact]
    public void AVerificationFailureIsReportedNotThrown()
    {
        // Page 3 of a remap mapping holds the wrong bytes: the pattern check names it, nothing throws.
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        using MemphysMapping map = dev.Map(0, 8 * Page);
        PatternVerifier.Fill(map, seed: 5);
        map.Pointer[(3 * Page) + 17] ^= 0xFF;
        var check = new Check("pattern");
        Assert.Equal(1, PatternVerifier.Compare(check, map, seed: 5));
        Assert.Equal("page 3 (region offset 0x3011): 1 bad bytes, first expected " +
            $"0x{Pattern.ExpectedByte((3 * Page) + 17, 5):x2} found 0x{(byte)(Pattern.ExpectedByte((3 * Page) + 17, 5) ^ 0xFF):x2}", Assert.Single(check.Failures));
        AssertPassed(PageTableVerifier.Verify(dev, map, PageExpectation.AllPresent));
        Check wrong = PageTableVerifier.Verify(dev, map, PageExpectation.NonePresent);
        Assert.Equal(8, wrong.FailureCount);
    }

    public static TheoryData<string, string> RangesPastTheEnd => new()
    {
        { "map", "--length past the end" },
        { "map", "--offset at the end" },
        { "verify", "--length past the end" },
        { "stress", "--length past the end" },
        { "bench", "--offset at the end" },
    };

    /// <summary>--offset and --length past the end are both usage errors (exit 2), caught before mmap.</summary>
    [DeviceTheory]
    [MemberData(nameof(RangesPastTheEnd))]
    public void ARangePastTheRegionIsAUsageError(string command, string what)
    {
        long size;
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            size = dev.GetInfo().RegionSize;
        }

        string[] range = what.StartsWith("--length", StringComparison.Ordinal)
            ? ["--offset", "0x1000", "--length", Common.Inv(size)]
            : ["--offset", Common.Inv(size)];
        string[] method = command == "map" ? ["--method", "remap"] : [];
        (int code, string stdout, string stderr) = CliRunner.Run([command, .. method, .. range, "--device", DeviceEnvironment.DevicePath]);
        CliRunner.AssertOneLineError(stderr);
        Assert.Contains("past the end", stderr);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
    }

    /// <summary>A bad --max-fault never reaches the driver: the CLI refuses it with exit 2 and the driver counts nothing.</summary>
    [DeviceFact]
    public void ABadMaxFaultNeverReachesTheDriver()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        (int code, _, string stderr) = CliRunner.Run(["map", "--method", "fault", "--max-fault", "3M", "--device", DeviceEnvironment.DevicePath]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--max-fault", stderr);
        Assert.Equal(0UL, dev.GetStats().MmapCalls);
    }

    [DeviceFact]
    public void InfoWorksOnAReadOnlyDescriptor()
    {
        using MemphysDevice dev = MemphysDevice.Open(DeviceEnvironment.DevicePath, readOnly: true);
        MemphysInfo info = dev.GetInfo();
        Assert.Equal(Memphys.Native.Uapi.UapiVersion, info.Version);
        _ = dev.GetStats();
        (int code, string stdout, _) = CliRunner.Run(["info", "--device", DeviceEnvironment.DevicePath]);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Matches($@"\n  physical range +0x{info.PhysicalBase:x}-0x{info.PhysicalEnd:x}\n", stdout);
        Assert.Matches(@"\n  caching \(region\) +wb, for the module's life\n", stdout);

        // The device suite's guest has no IOMMU: a device is given the physical range.
        Assert.Empty(Memphys.Dma.Iommu.ActiveUnits());
        Assert.Matches(@"\n  iommu +none active \(/sys/class/iommu is empty\)\n", stdout);
        Assert.Matches($@"\n  bus address +0x{info.PhysicalBase:x}-0x{info.PhysicalEnd:x}, the physical range: without an IOMMU a device on x86 reaches RAM at its physical address\n", stdout);
        Assert.Matches(@"\n  with an IOMMU +the IOVA you map the region at through VFIO \(VFIO_IOMMU_MAP_DMA\), not its physical address\n", stdout);
        (code, stdout, _) = CliRunner.Run(["info", "--json", "--device", DeviceEnvironment.DevicePath]);
        Assert.Equal(ExitCodes.Ok, code);
        System.Text.Json.Nodes.JsonNode dma = System.Text.Json.Nodes.JsonNode.Parse(stdout)!["devices"]![0]!["dma"]!;
        Assert.Equal("physical", (string?)dma["busAddress"]);
        Assert.Empty(dma["iommus"]!.AsArray());
        Assert.Equal(info.PhysicalBase, (ulong?)dma["physicalBusBase"]);
        Assert.Equal(info.PhysicalEnd, (ulong?)dma["physicalBusEnd"]);
    }

    /// <summary>QUERY_PAGE formats no string when it succeeds: a 1 GiB walk makes 262,144 queries.</summary>
    [DeviceFact]
    public void QueryPageAllocatesNothing()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        using MemphysMapping map = dev.Map(0, 16 * Page);
        _ = dev.QueryPage(map.BaseAddress);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 4096; i++)
        {
            _ = dev.QueryPage(map.BaseAddress + (nint)(i % 16 * Page));
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 1024, $"4096 queries allocated {allocated} bytes");
    }

    [DeviceFact]
    public void QueryPagesHoldsTheMappingAndRefusesADisposedOne()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        MemphysMapping map = dev.Map(0, 4 * Page);
        Assert.Equal(4, dev.QueryPages(map).Length);
        map.Dispose();
        Assert.Throws<ObjectDisposedException>(() => dev.QueryPages(map));
    }

    [DeviceFact]
    public void MapPastTheEndIsEinvalWithAReadableMessage()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        var ex = Assert.Throws<MemphysArgumentException>(() => dev.Map((long)info.RegionSize - Page, 2 * Page));
        Assert.Equal("EINVAL", ((IMemphysError)ex).ErrnoName);
        Assert.Equal($"{DeviceEnvironment.DevicePath}: mmap 0x{info.RegionSize - Page:x}+0x2000 past end of " +
            $"{MemphysDevice.FormatSize(info.RegionSize)} region (EINVAL)", ex.Message);
    }

    [DeviceFact]
    public void ResetStatsZeroesCounters()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Remap);
        using (dev.Map(0, Page))
        {
        }

        Assert.NotEqual(0UL, dev.GetStats().MmapCalls);
        dev.ResetStats();
        Assert.Equal(default, dev.GetStats());
    }

    /// <summary>The handle is a SafeFileHandle: RandomAccess (pread/pwrite) reads and writes the bytes the mapping holds.</summary>
    [DeviceFact]
    public void RandomAccessReadsAndWritesWhatTheMappingHolds()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        long offset = 32 * Page;
        using MemphysMapping map = dev.Map(offset, 256 * Page);
        PatternVerifier.Fill(map, seed: 91);
        byte[] read = new byte[map.Length];
        int done = 0;
        while (done < read.Length)
        {
            int n = RandomAccess.Read(dev.Handle, read.AsSpan(done), offset + done);
            Assert.True(n > 0, $"RandomAccess.Read returned {n} at {done}");
            done += n;
        }

        Assert.True(map.AsReadOnlySpan().SequenceEqual(read), "RandomAccess.Read differs from the mapping");
        byte[] word = [0xA5, 0x5A, 0xC3, 0x3C, 1, 2, 3, 4];
        RandomAccess.Write(dev.Handle, word, offset + (7 * Page));
        Assert.True(map.GetReadOnlySpan(7 * Page, word.Length).SequenceEqual(word), "RandomAccess.Write is not seen through the mapping");
    }

    /// <summary>Ctrl-C during <c>memphys verify</c>: exit 130, one line, and every mapping of the device released.</summary>
    [DeviceFact]
    public void CtrlCStopsVerifyAndReleasesItsMappings()
    {
        using (DeviceEnvironment.Open())
        {
        }

        int before = DeviceMappings();
        using var interrupt = new CancellationTokenSource();
        // "Ctrl-C" as soon as verify has mapped the region: the run is then well inside its first pattern phase.
        var watcher = Task.Run(() =>
        {
            while (!interrupt.IsCancellationRequested && DeviceMappings() == before)
            {
                Thread.Sleep(5);
            }

            interrupt.Cancel();
        }, TestContext.Current.CancellationToken);
        (int code, string stdout, string stderr) = CliRunner.Run(
            ["verify", "--device", DeviceEnvironment.DevicePath, "--length", "64M", "--no-child", "--json"], interrupt.Token);
        interrupt.Cancel();
        watcher.Wait(TestContext.Current.CancellationToken);
        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Equal(130, System.Text.Json.Nodes.JsonNode.Parse(stdout)!["exitCode"]!.GetValue<int>());
        CliRunner.AssertOneLineError(stderr);
        Assert.Equal(before, DeviceMappings());
    }

    /// <summary>The module's MODULE_VERSION and the library's version are the one version of VERSION.</summary>
    [DeviceFact]
    public void TheModuleAndTheLibraryHaveOneVersion()
    {
        using (DeviceEnvironment.Open())
        {
        }

        string module = File.ReadAllText("/sys/module/memphys/version").Trim();
        Assert.Equal(typeof(MemphysDevice).Assembly.GetName().Version!.ToString(3), module);
    }

    /// <summary>Lines of /proc/self/maps that map the device under test.</summary>
    private static int DeviceMappings() =>
        File.ReadLines("/proc/self/maps").Count(l => l.EndsWith(" " + DeviceEnvironment.DevicePath, StringComparison.Ordinal));
    [DeviceFact]
    public void ResetStatsNeedsADescriptorOpenForWriting()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Remap);
        using (dev.Map(0, Page))
        {
        }

        MemphysStats before = dev.GetStats();
        Assert.NotEqual(0UL, before.MmapCalls);
        using MemphysDevice readOnly = MemphysDevice.Open(DeviceEnvironment.DevicePath, readOnly: true);
        Assert.Equal(Memphys.Native.Interop.Errors.EBADF, ErrnoOf(readOnly.ResetStats));
        Assert.Equal(before, dev.GetStats());
    }
}
