using Memphys.Native;
using Memphys.Verification;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// 2 MiB (PMD) and 1 GiB (PUD) faults of the fault method, on kernels with huge PFN mappings
/// (CONFIG_ARCH_SUPPORTS_PMD_PFNMAP / PUD_PFNMAP, 6.12+). Elsewhere they skip and say so.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class HugeFaultTests
{
    public static TheoryData<ulong> HugeSizes => new(FaultSize.Pmd, FaultSize.Pud);

    private static MemphysDevice OpenForHuge(ulong size)
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
    public void OneTouchMapsTheWholeAlignedBlockWithOneHugeFault(ulong size)
    {
        using MemphysDevice dev = OpenForHuge(size);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.PhysicalBase % size != 0, $"region base {info.PhysicalBase:x} is not {size:x}-aligned");
        using MemphysMapping map = dev.Map(0, (long)size, alignment: size);
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

    [DeviceFact]
    public void AnUnalignedMappingFallsBackToPteFaults()
    {
        using MemphysDevice dev = OpenForHuge(FaultSize.Pmd);
        MemphysInfo info = dev.GetInfo();
        // Offset one page into the region: no 2 MiB block of it can be mapped at a 2 MiB-aligned address.
        using MemphysMapping map = dev.Map(Page, 4 * (long)FaultSize.Pmd - 2 * Page, alignment: FaultSize.Pmd);
        map.TouchPages(write: true);
        MemphysStats stats = dev.GetStats();
        Assert.Equal(0UL, stats.PmdFaults + stats.PudFaults);
        Assert.Equal((ulong)map.PageCount, stats.PteFaults);
        AssertPages(dev, map, PageExpectation.AllPresent, "unaligned mapping with 2 MiB max fault size");
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
