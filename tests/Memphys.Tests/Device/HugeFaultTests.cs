using Memphys.Native;
using Memphys.Verification;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// 2 MiB (PMD) and 1 GiB (PUD) faults of the fault method, on kernels with huge PFN mappings
/// (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP / PUD_PFNMAP, 6.12+). Elsewhere they skip and say so.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Trait(TestStage.Name, TestStage.WholeRegion)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class HugeFaultTests
{
    public static TheoryData<long> HugeSizes => new(FaultSize.Pmd, FaultSize.Pud);

    private static MemphysDevice OpenForHuge(long size)
    {
        MemphysDevice dev = OpenWith(MappingMethod.Fault);
        FaultSizes needed = size == FaultSize.Pud ? FaultSizes.Pud1G : FaultSizes.Pmd2M;
        MemphysInfo info = dev.GetInfo();
        if ((info.FaultSizes & needed) == 0 || info.RegionSize < size)
        {
            dev.Dispose();
            Assert.Skip($"kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} installs no {MemphysDevice.FormatSize(size)} " +
                $"PFN mappings (fault sizes: {info.FaultSizes}; needs CONFIG_ARCH_SUPPORTS_{(size == FaultSize.Pud ? "PUD" : "PMD")}_PFNMAP, 6.12+) " +
                $"or the region is smaller than that");
        }

        dev.SetMaxFaultSize(size);
        return dev;
    }

    [DeviceTheory]
    [MemberData(nameof(HugeSizes))]
    public void OneTouchMapsTheWholeAlignedBlockWithOneHugeFault(long size)
    {
        using MemphysDevice dev = OpenForHuge(size);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.PhysicalBase % (ulong)size != 0, $"region base {info.PhysicalBase:x} is not {size:x}-aligned");
        using MemphysMapping map = dev.Map(0, size, alignment: size);
        Assert.Equal(0L, map.BaseAddress % (long)size);

        map.Pointer[12345] = 1;
        MemphysStats stats = dev.GetStats();
        Assert.Equal(size == FaultSize.Pud ? 1UL : 0UL, stats.PudFaults);
        Assert.Equal(size == FaultSize.Pmd ? 1UL : 0UL, stats.PmdFaults);
        Assert.Equal(0UL, stats.PteFaults);
        long pages = (long)size / Page;
        foreach (long page in new[] { 0L, 1L, pages / 2, pages - 1 })
        {
            PageTableEntry e = dev.QueryPage(map.BaseAddress + (nint)(page * Page));
            Assert.True(e.Present, $"page {page} of the block is not present");
            Assert.Equal(BasePfn(info) + (ulong)page, e.Pfn);
        }

        map.TouchPages(write: true);
        Assert.Equal(stats.TotalFaults, dev.GetStats().TotalFaults);
    }

    /// <summary>One pass over the whole region: exactly one fault per aligned block (512 PMD faults or one PUD fault
    /// per GiB), no 4 KiB fault, and every page of the region at its own frame.</summary>
    [Theory]
    [MemberData(nameof(HugeSizes))]
    public void OnePassOverTheWholeRegionTakesOneFaultPerBlock(long size)
    {
        Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");
        using MemphysDevice dev = OpenForHuge(size);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.PhysicalBase % (ulong)size != 0, $"region base {info.PhysicalBase:x} is not {size:x}-aligned");
        long length = info.RegionSize / size * size;
        using MemphysMapping map = dev.Map(0, length, alignment: size);

        Assert.Equal(map.PageCount, map.TouchPages(write: true));
        MemphysStats stats = dev.GetStats();
        ulong blocks = (ulong)(length / size);
        Assert.Equal(size == FaultSize.Pud ? blocks : 0UL, stats.PudFaults);
        Assert.Equal(size == FaultSize.Pmd ? blocks : 0UL, stats.PmdFaults);
        Assert.Equal(0UL, stats.PteFaults);
        // With 1 GiB allowed nothing falls back. With 2 MiB the kernel first offers a PUD fault wherever no page table
        // exists below it yet, which the driver declines: 1 per GiB on 6.12, 2 on 7.2 (the offer is repeated).
        if (size == FaultSize.Pud)
        {
            Assert.Equal(0UL, stats.FallbackFaults);
        }

        AssertPages(dev, map, PageExpectation.AllPresent with { Writable = true }, $"one pass with {MemphysDevice.FormatSize(size)} faults");
    }

    /// <summary>SET_MAX_FAULT takes exactly the sizes GET_INFO reports and refuses the others with EOPNOTSUPP
    /// (on 6.1 both huge sizes, on 6.12+ none of them: this case asserts whichever applies).</summary>
    [DeviceFact]
    public void SetMaxFaultAcceptsExactlyTheReportedSizes()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        FaultSizes sizes = dev.GetInfo().FaultSizes;
        foreach ((long bytes, FaultSizes bit) in new[] { (FaultSize.Pte, FaultSizes.Pte4K), (FaultSize.Pmd, FaultSizes.Pmd2M), (FaultSize.Pud, FaultSizes.Pud1G) })
        {
            int errno = ErrnoOf(() => dev.SetMaxFaultSize(bytes));
            Assert.True(errno == (sizes.HasFlag(bit) ? 0 : Interop.Errors.EOPNOTSUPP),
                $"SET_MAX_FAULT {MemphysDevice.FormatSize(bytes)} with fault sizes {sizes}: errno {errno}");
        }
    }

    /// <summary>GET_INFO's fault sizes are what this kernel and CPU can install: huge PFN mappings from 6.12 on
    /// (CONFIG_ARCH_SUPPORTS_PMD/PUD_PFNMAP on x86-64, with the CPU's pse), 1 GiB ones only with its pdpe1gb. The THP
    /// policy is not consulted (README, known limits: modules cannot read it).</summary>
    [DeviceFact]
    public void GetInfoReportsTheFaultSizesOfThisKernel()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        FaultSizes sizes = dev.GetInfo().FaultSizes;
        string release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        Version kernel = Version.Parse(string.Join('.', release.Split('-', '+')[0].Split('.').Take(2)));
        // x86 names its huge page sizes in the CPU flags; arm64 (4 KiB pages) always has 2 MiB blocks, and no
        // kernel of it maps 1 GiB PFN blocks (it has no PUD-level transparent huge pages).
        string[] cpuFlags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        bool huge = kernel >= new Version(6, 12) && (GuestPlatform.IsArm64 || cpuFlags.Contains("pse"));

        Assert.True(sizes.HasFlag(FaultSizes.Pte4K), $"{sizes} lacks 4 KiB");
        Assert.Equal(huge, sizes.HasFlag(FaultSizes.Pmd2M));
        Assert.Equal(huge && !GuestPlatform.IsArm64 && cpuFlags.Contains("pdpe1gb"), sizes.HasFlag(FaultSizes.Pud1G));
    }

    /// <summary>
    /// A mapping whose virtual addresses are not congruent to its frames modulo 2 MiB (placed with MAP_FIXED one page
    /// off) can hold no huge entry: every page is one 4 KiB fault at its own frame.
    /// </summary>
    [DeviceFact]
    public void AMappingMisalignedWithItsFramesFallsBackToPteFaults()
    {
        using MemphysDevice dev = OpenForHuge(FaultSize.Pmd);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.PhysicalBase % FaultSize.Pmd != 0, $"region base {info.PhysicalBase:x} is not 2 MiB-aligned");
        const long length = 4 * (long)FaultSize.Pmd;
        nuint reserveLength = (nuint)(length + 2 * (long)FaultSize.Pmd);
        nint reserve = Interop.Libc.MMapAnonymous(0, reserveLength, Interop.Libc.PROT_NONE,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, -1, 0);
        Assert.NotEqual(Interop.Libc.MAP_FAILED, reserve);
        try
        {
            // Frames start 2 MiB-aligned; the virtual address one page past a 2 MiB boundary.
            nint target = (nint)(((ulong)reserve + FaultSize.Pmd - 1) / FaultSize.Pmd * FaultSize.Pmd) + (nint)Page;
            nint p = Interop.Libc.MMap(target, (nuint)length, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE,
                Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED, dev.Handle, 0);
            Assert.Equal(target, p);
            for (long page = 0; page < length / Page; page++)
            {
                Volatile.Write(ref *(byte*)(p + (nint)(page * Page)), 1);
            }

            MemphysStats stats = dev.GetStats();
            Assert.Equal(0UL, stats.PmdFaults + stats.PudFaults);
            Assert.Equal((ulong)(length / Page), stats.PteFaults + stats.Prefaulted);
            for (long page = 0; page < length / Page; page++)
            {
                PageTableEntry e = dev.QueryPage(p + (nint)(page * Page));
                Assert.True(e.Present, $"page {page} is not present");
                Assert.Equal(BasePfn(info) + (ulong)page, e.Pfn);
            }
        }
        finally
        {
            _ = Interop.Libc.MUnmap(reserve, reserveLength);
        }
    }

    [DeviceFact]
    public void APrivateMappingNeverTakesAHugeFault()
    {
        using MemphysDevice dev = OpenForHuge(FaultSize.Pmd);
        // The fault method refuses MAP_PRIVATE outright; the remap method maps eagerly and never faults.
        Assert.Equal(Interop.Errors.EINVAL, ErrnoOf(() => dev.Map(0, (long)FaultSize.Pmd, isPrivate: true)));
        dev.SetMethod(MappingMethod.Remap);
        using MemphysMapping map = dev.Map(0, (long)FaultSize.Pmd, isPrivate: true);
        map.TouchPages(write: true);
        Assert.Equal(0UL, dev.GetStats().TotalFaults);
    }
}
