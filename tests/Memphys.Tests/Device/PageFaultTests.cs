using Memphys.Verification;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// What each method maps, and when: read back from the page tables with MEMPHYS_IOC_QUERY_PAGE
/// (pagemap and mincore cannot see VM_PFNMAP mappings) and from the driver's counters.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Trait(TestStage.Name, TestStage.WholeRegion)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class PageFaultTests
{
    [DeviceFact]
    public void FaultMethodStartsWithNothingPresentAndNoFaults()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        using MemphysMapping map = dev.Map();
        MemphysStats stats = dev.GetStats();
        Assert.Equal(1UL, stats.MmapCalls);
        Assert.Equal(0UL, stats.TotalFaults);
        Assert.Equal(0UL, stats.BytesRemapped);
        Assert.Equal(RegionPages(dev.GetInfo()), map.PageCount);
        AssertPages(dev, map, PageExpectation.NonePresent, "fault method right after mmap");
    }

    [DeviceFact]
    public void TouchingOnePageMapsExactlyThatPageWithOneFault()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        dev.SetMaxFaultSize(FaultSize.Pte);
        dev.SetFaultAround(1); // FaultAroundTests cover the neighbours a fault maps
        MemphysInfo info = dev.GetInfo();
        long last = RegionPages(info) - 1;
        using MemphysMapping map = dev.Map();
        // Page 6 is where the original toy driver hung; the others cover both ends and a 2 MiB boundary.
        long[] pages = [0, 5, 6, 7, 511, 512, last - 1, last];
        var touched = new HashSet<long>();
        foreach (long page in pages)
        {
            ulong faultsBefore = dev.GetStats().PteFaults;
            _ = Volatile.Read(ref map.Pointer[page * Page]);
            touched.Add(page);
            Assert.Equal(faultsBefore + 1, dev.GetStats().PteFaults);

            PageTableEntry e = dev.QueryPage(map.BaseAddress + (nint)(page * Page));
            Assert.True(e.Present, $"page {page} not present after touching it");
            Assert.Equal(BasePfn(info) + (ulong)page, e.Pfn);
            foreach (long neighbour in new[] { page - 1, page + 1 })
            {
                if (neighbour >= 0 && neighbour <= last && !touched.Contains(neighbour))
                {
                    Assert.False(dev.QueryPage(map.BaseAddress + (nint)(neighbour * Page)).Present,
                        $"page {neighbour} became present when page {page} was touched");
                }
            }

            // Reading and writing it again costs no fault.
            Volatile.Write(ref *PageWord(map, page), Word(6, (ulong)page));
            _ = Volatile.Read(ref map.Pointer[page * Page + Page - 1]);
            Assert.Equal(faultsBefore + 1, dev.GetStats().PteFaults);
        }

        Assert.Equal(pages.Length, dev.QueryPages(map).Count(e => e.Present));
    }

    [DeviceFact]
    public void TouchingAllPagesFaultsEachExactlyOnceWithTheRightFrame()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        dev.SetMaxFaultSize(FaultSize.Pte);
        dev.SetFaultAround(1);
        MemphysInfo info = dev.GetInfo();
        using MemphysMapping map = dev.Map();
        long pages = map.TouchPages(write: true);
        Assert.Equal(RegionPages(info), pages);
        Assert.Equal((ulong)pages, dev.GetStats().PteFaults);

        map.TouchPages(write: true);
        Assert.Equal((ulong)pages, dev.GetStats().PteFaults);
        AssertPages(dev, map, PageExpectation.AllPresent with { Writable = true }, "fault method after touching every page");
    }

    [DeviceFact]
    public void RemapMethodIsFullyPresentAfterMmapWithZeroFaults()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        MemphysInfo info = dev.GetInfo();
        using MemphysMapping map = dev.Map();
        AssertPages(dev, map, PageExpectation.AllPresent with { Writable = true }, "remap method right after mmap");

        map.TouchPages(write: true);
        MemphysStats stats = dev.GetStats();
        Assert.Equal(0UL, stats.TotalFaults);
        Assert.Equal((ulong)info.RegionSize, stats.BytesRemapped);
        Assert.Equal(1UL, stats.MmapCalls);
    }

    [DeviceFact]
    public void MappingAtAnOffsetMapsTheFramesOfThatOffset()
    {
        foreach (MappingMethod method in PfnMapMethods)
        {
            using MemphysDevice dev = OpenWith(method);
            MemphysInfo info = dev.GetInfo();
            long offset = (long)info.RegionSize / 2 + 3 * Page;
            using MemphysMapping map = dev.Map(offset, 16 * Page);
            map.TouchPages();
            AssertPages(dev, map, PageExpectation.AllPresent, $"{method} mapping at region offset 0x{offset:x}");

            // Any address inside a page reads that page's entry.
            Assert.Equal(BasePfn(info) + (ulong)(offset / Page) + 3, dev.QueryPage(map.BaseAddress + (nint)(3 * Page) + 123).Pfn);
        }
    }

    [DeviceFact]
    public void AReadOnlyMappingHasReadOnlyEntries()
    {
        foreach (MappingMethod method in PfnMapMethods)
        {
            using MemphysDevice dev = OpenWith(method);
            using MemphysMapping map = dev.Map(0, 4 * Page, MapProtection.Read);
            map.TouchPages();
            AssertPages(dev, map, PageExpectation.AllPresent with { ReadOnly = true }, $"{method} read-only mapping");
        }
    }

    [DeviceFact]
    public void PagemapAndMincoreCannotSeeDeviceMappings()
    {
        // Documents the kernel behaviour that MEMPHYS_IOC_QUERY_PAGE exists for: page walks skip VM_PFNMAP.
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        using MemphysMapping map = dev.Map(0, 8 * Page);
        Assert.True(map.IsPfnMap);
        Assert.All(dev.QueryPages(map), e => Assert.True(e.Present));
        Assert.All(map.ReadPagemap(), e => Assert.False(e.Present));
        Assert.All(map.GetResidency(), Assert.False);
    }

    [DeviceFact]
    public void SysfsCountersMatchTheIoctl()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        dev.SetFaultAround(4);
        ulong windows;
        using (MemphysMapping map = dev.Map(0, 32 * Page))
        {
            map.TouchPages();
            // One fault per aligned 4-page window the mapping overlaps: 8, or 9 when it starts mid-window.
            const ulong window = 4 * Page;
            windows = ((ulong)map.BaseAddress + 32 * Page - 1) / window - (ulong)map.BaseAddress / window + 1;
        }

        MemphysStats stats = dev.GetStats();
        string dir = $"/sys/class/misc/memphys{dev.GetInfo().Index}";
        ulong Read(string name) => ulong.Parse(File.ReadAllText(Path.Combine(dir, name)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(32UL, stats.PteFaults + stats.Prefaulted);
        Assert.Equal(windows, stats.PteFaults);
        Assert.Equal(stats.PteFaults, Read("pte_faults"));
        Assert.Equal(stats.Prefaulted, Read("prefaulted"));
        Assert.Equal(stats.MmapCalls, Read("mmap_calls"));
        Assert.Equal(stats.Refused, Read("refused"));
        Assert.Equal((ulong)dev.GetInfo().RegionSize, Read("size"));
    }
}
