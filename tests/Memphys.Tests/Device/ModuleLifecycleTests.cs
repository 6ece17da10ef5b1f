using System.Diagnostics;
using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// Loading, unloading and abusing the module: refused and accepted insmods, rmmod while in use, data
/// surviving a reload, killed and concurrent users. Needs the guest's MEMPHYS_KO and MEMPHYS_REGIONS.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Trait(TestStage.Name, TestStage.WholeRegion)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class ModuleLifecycleTests
{
    private static string Ko => Environment.GetEnvironmentVariable("MEMPHYS_KO") ?? "";

    private static string Regions => Environment.GetEnvironmentVariable("MEMPHYS_REGIONS") ?? "";

    private static void RequireModuleControl()
    {
        Assert.SkipWhen(Ko.Length == 0 || Regions.Length == 0,
            "module tests need MEMPHYS_KO and MEMPHYS_REGIONS (set by tests/vm/run-in-vm.sh)");
    }

    private static bool Loaded => File.ReadLines("/proc/modules").Any(l => l.StartsWith("memphys ", StringComparison.Ordinal));

    private static string[] DeviceNodes() => Directory.GetFiles("/dev", "memphys*");

    private static string Unload()
    {
        // Finalizers of anything a failed test left open must not keep the module busy.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Probe("delete-module", "memphys");
    }

    private static string Load(string parameters) => Probe("finit-module", Ko, parameters);

    /// <summary>Puts the module back as the harness loaded it, whatever a test did.</summary>
    private static void Restore()
    {
        if (!Loaded)
        {
            Assert.Equal("OK", Load($"regions={Regions}"));
        }

        Assert.True(File.Exists(DeviceEnvironment.DevicePath), $"{DeviceEnvironment.DevicePath} missing after reload");
    }

    private static int ModuleRefcount() => int.Parse(File.ReadAllText("/sys/module/memphys/refcnt").Trim(),
        System.Globalization.CultureInfo.InvariantCulture);

    public static TheoryData<string, string> RefusedLoads => new()
    {
        { "", "EINVAL" },
        { "regions=", "EINVAL" },
        { "regions=abc", "EINVAL" },
        { "regions=1G", "EINVAL" },
        { "regions=1G@", "EINVAL" },
        { "regions=1G@0x100000000x", "EINVAL" },
        { "regions=0@0x100000000", "EINVAL" },
        { "regions=5000@0x100000000", "EINVAL" },
        { "regions=1M@0x100000800", "EINVAL" },
        { "regions=0x8000000000000000@0x8000000000000000", "EINVAL" },
        { "regions=8K@0x100000000,4K@0x100001000", "EINVAL" },
        { "regions=" + GuestPlatform.SystemRamRegion(), "EBUSY" },
        { "regions=" + GuestPlatform.ReservedThenSystemRamRegion(), "EBUSY" },
        { "regions=1G@0x4000000000", "ENXIO" },
        { "regions=" + string.Join(',', Enumerable.Range(0, 17).Select(i => $"4K@0x{0x100000000L + i * Page:x}")), "E2BIG" },
        { "regions=4K@0x100000000 default_method=bogus", "EINVAL" },
        { "regions=4K@0x100000000 fault_around=0", "EINVAL" },
        { "regions=4K@0x100000000 fault_around=3", "EINVAL" },
        { "regions=4K@0x100000000 fault_around=1024", "EINVAL" },
    };

    [DeviceTheory]
    [MemberData(nameof(RefusedLoads))]
    public void ABadLoadFailsWithItsErrnoAndLeavesNoDevice(string parameters, string errno)
    {
        RequireModuleControl();
        try
        {
            Assert.Equal("OK", Unload());
            if (parameters is "" or "regions=" && GuestPlatform.DeviceTreeHasRegion)
            {
                // No regions=, but the device tree describes one: that load is a good one, of that region alone.
                Assert.Equal("OK", Load(parameters));
                Assert.All(Directory.GetDirectories("/sys/class/misc", "memphys*"),
                    d => Assert.StartsWith("devicetree ", File.ReadAllText(Path.Combine(d, "source")), StringComparison.Ordinal));
                Assert.Equal("OK", Unload());
                return;
            }

            Assert.Equal(errno, Load(parameters));
            Assert.False(Loaded, $"memphys stayed loaded after '{parameters}'");
            Assert.Empty(DeviceNodes());
            Assert.DoesNotContain(File.ReadLines("/proc/iomem"), l => l.Contains("memphys", StringComparison.Ordinal));
        }
        finally
        {
            Restore();
        }
    }

    [DeviceFact]
    public void DefaultMethodParameterSelectsTheMethodOfNewFiles()
    {
        RequireModuleControl();
        try
        {
            Assert.Equal("OK", Unload());
            Assert.Equal("OK", Load($"regions={Regions} default_method=fault"));
            using MemphysDevice dev = DeviceEnvironment.Open();
            Assert.Equal(MappingMethod.Fault, dev.GetInfo().Method);
        }
        finally
        {
            if (Loaded)
            {
                Assert.Equal("OK", Unload());
            }

            Restore();
        }
    }

    [DeviceFact]
    public void RmmodIsRefusedWhileAFileOrMappingLivesAndWorksAfter()
    {
        RequireModuleControl();
        try
        {
            MemphysMapping map;
            using (MemphysDevice dev = OpenWith(MappingMethod.Fault))
            {
                Assert.Equal("EAGAIN", Unload());
                map = dev.Map(0, 4 * Page);
            }

            // The file is closed, but the mapping still holds it and so the module.
            Assert.Equal("EAGAIN", Unload());
            *PageWord(map, 1) = Word(61, 1);
            Assert.Equal(Word(61, 1), *PageWord(map, 1));
            map.Dispose();

            Assert.Equal(0, ModuleRefcount());
            Assert.Equal("OK", Unload());
            Assert.Empty(DeviceNodes());
            Assert.Equal("OK", Load($"regions={Regions}"));
            using MemphysDevice again = DeviceEnvironment.Open();
            Span<byte> word = stackalloc byte[8];
            again.Read(Page, word);
            Assert.Equal(Word(61, 1), BitConverter.ToUInt64(word));
        }
        finally
        {
            Restore();
        }
    }

    [DeviceFact]
    public void TheWholeRegionSurvivesUnloadAndReload()
    {
        RequireModuleControl();
        const ulong seed = 62;
        long pages;
        try
        {
            using (MemphysDevice dev = OpenWith(MappingMethod.Remap))
            using (MemphysMapping map = dev.Map())
            {
                pages = map.PageCount;
                for (long page = 0; page < pages; page++)
                {
                    ulong* p = PageWord(map, page);
                    ulong w = Word(seed, (ulong)page);
                    for (int j = 0; j < Page / 8; j++)
                    {
                        p[j] = w + (ulong)j;
                    }
                }
            }

            Assert.Equal("OK", Unload());
            Assert.Equal("OK", Load($"regions={Regions}"));

            using MemphysDevice reloaded = OpenWith(MappingMethod.Fault);
            using MemphysMapping back = reloaded.Map();
            long differing = 0;
            string? first = null;
            for (long page = 0; page < pages; page++)
            {
                ulong* p = PageWord(back, page);
                ulong w = Word(seed, (ulong)page);
                for (int j = 0; j < Page / 8; j++)
                {
                    ulong diff = p[j] ^ (w + (ulong)j);
                    if (diff != 0)
                    {
                        differing += Pattern.DifferingBytes(diff);
                        first ??= $"page {page} word {j}: {p[j]:x16}, expected {w + (ulong)j:x16}";
                    }
                }
            }

            Assert.True(differing == 0, $"{differing} bytes differ after reload; first at {first}");
        }
        finally
        {
            Restore();
        }
    }

    [DeviceFact]
    [Trait(TestStage.Name, TestStage.Concurrency)]
    public void AUserKilledWhileFaultingLeavesAConsistentDevice()
    {
        RequireModuleControl();
        var psi = new ProcessStartInfo(ProbePath()) { RedirectStandardOutput = true };
        foreach (string a in new[] { "touch-loop", DeviceEnvironment.DevicePath, "fault" })
        {
            psi.ArgumentList.Add(a);
        }

        using (MemphysDevice dev = OpenWith(MappingMethod.Fault))
        {
            using Process child = Process.Start(psi)!;
            Assert.Equal("ready", child.StandardOutput.ReadLine());
            // Let it fault part of the region, then kill it mid-way.
            SpinWait.SpinUntil(() => dev.GetStats().PteFaults > 1000, TimeSpan.FromSeconds(60));
            child.Kill();
            child.WaitForExit();
            Assert.True(dev.GetStats().PteFaults > 1000, "the child faulted nothing before it was killed");
        }

        using MemphysDevice next = OpenWith(MappingMethod.Fault);
        using (MemphysMapping map = next.Map(0, 16 * Page))
        {
            map.TouchPages();
            MemphysStats stats = next.GetStats();
            Assert.Equal(16UL, stats.PteFaults + stats.Prefaulted);
            Assert.All(next.QueryPages(map), e => Assert.True(e.Present));
        }

        next.Dispose();
        Assert.Equal(0, ModuleRefcount());
    }

    [DeviceFact]
    [Trait(TestStage.Name, TestStage.Concurrency)]
    public void ConcurrentWritersAcrossThreadsProcessesAndMethodsLoseNothing()
    {
        const int threads = 4;
        const int processes = 2;
        const int owners = threads + processes;
        const int seconds = 8;
        using MemphysDevice remapDev = OpenWith(MappingMethod.Remap);
        using MemphysDevice faultDev = DeviceEnvironment.Open();
        faultDev.SetMethod(MappingMethod.Fault);
        using MemphysMapping remap = remapDev.Map();
        using MemphysMapping fault = faultDev.Map();
        long pages = remap.PageCount;

        Task<string>[] children = Enumerable.Range(threads, processes)
            .Select(o => Task.Run(() => Probe("own-writes", DeviceEnvironment.DevicePath, o % 2 == 0 ? "remap" : "fault",
                o.ToString(), owners.ToString(), seconds.ToString())))
            .ToArray();
        long[] rounds = new long[owners];
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, owner =>
        {
            MemphysMapping map = owner % 2 == 0 ? remap : fault;
            long mine = (pages - owner + owners - 1) / owners;
            var random = new Random(owner + 1);
            var clock = Stopwatch.StartNew();
            long round = 0;
            for (; clock.Elapsed.TotalSeconds < seconds; round++)
            {
                long start = random.NextInt64(mine);
                for (long k = 0; k < mine; k++)
                {
                    long page = (start + k) % mine * owners + owner;
                    *PageWord(map, page) = Word(((ulong)owner << 32) | (ulong)round, (ulong)page);
                }
            }

            rounds[owner] = round;
        });
        for (int p = 0; p < processes; p++)
        {
            string result = children[p].Result;
            Assert.StartsWith("rounds ", result);
            rounds[threads + p] = long.Parse(result["rounds ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.All(rounds, r => Assert.True(r > 0, "a writer completed no round"));
        long corrupt = 0;
        string? first = null;
        for (long page = 0; page < pages; page++)
        {
            int owner = (int)(page % owners);
            ulong want = Word(((ulong)owner << 32) | (ulong)(rounds[owner] - 1), (ulong)page);
            ulong got = *PageWord(page % 2 == 0 ? fault : remap, page);
            if (got != want)
            {
                corrupt += Pattern.DifferingBytes(got ^ want);
                first ??= $"page {page} (owner {owner}): {got:x16}, expected {want:x16}";
            }
        }

        Assert.True(corrupt == 0, $"{corrupt} corrupt bytes; first at {first}");
    }

    [DeviceFact]
    public void TheRegionIsClaimedInIomemAndClosedToDevMem()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        Assert.Equal((uint)Environment.SystemPageSize, info.PageSize);
        Assert.True(info.RegionSize > 0 && info.RegionSize % info.PageSize == 0, $"region size {info.RegionSize}");
        Assert.Equal(0UL, info.PhysicalBase % (ulong)info.PageSize);
        Assert.Equal([MappingMethod.Remap, MappingMethod.Fault], info.SupportedMethods);
        Assert.True(info.FaultSizes.HasFlag(FaultSizes.Pte4K));
        string claim = $"{info.PhysicalBase:x}-{info.PhysicalEnd:x} : memphys";
        Assert.Contains(File.ReadLines("/proc/iomem"), l => l.Trim() == claim);

        // CONFIG_IO_STRICT_DEVMEM: /dev/mem refuses ranges a driver claimed (opening it works; reading the range does
        // not). arm64 refuses earlier, with EFAULT, every range outside the kernel's linear map (valid_phys_addr_range).
        using SafeFileHandle devMem = FileDescriptor.Open("/dev/mem", Interop.Libc.O_RDONLY);
        byte* buffer = stackalloc byte[8];
        Assert.Equal(-1, (long)Interop.Libc.PRead(devMem, buffer, 8, (long)info.PhysicalBase));
        Assert.Equal(GuestPlatform.IsArm64 ? Interop.Errors.EFAULT : Interop.Errors.EPERM,
            System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
    }
}
