using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// Fault-around (MEMPHYS_IOC_SET_FAULT_AROUND): a 4 KiB fault of the fault method (and of the pages method where its
/// 4 KiB entries are devmap ones, up to 6.14) maps the faulting page and the free entries of the aligned window of
/// fault-around pages holding its virtual address, clipped to the mapping and the region, each with the faulting
/// entry's protection. Read back entry by entry with MEMPHYS_IOC_QUERY_PAGE, with exact pte_faults / prefaulted counts.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class FaultAroundTests
{
    private const long Window2M = 512 * Page;

    /// <summary>A fault-method file with 4 KiB faults, the given fault-around and zeroed counters.</summary>
    private static MemphysDevice OpenFault4K(uint faultAround) => Open4K(MappingMethod.Fault, faultAround);

    private static MemphysDevice Open4K(MappingMethod method, uint faultAround)
    {
        MemphysDevice dev = OpenWith(method);
        dev.SetMaxFaultSize(FaultSize.Pte);
        dev.SetFaultAround(faultAround);
        return dev;
    }

    /// <summary>Region loads whose fault-around neighbours are checked: the fault method per memory type, and pages.</summary>
    public static TheoryData<string> RegionTypes => new("wb", "wc", "uc", "pages");

    /// <summary>The harness's regions as <paramref name="type"/>; pages in 4 KiB folios where needed (6.15+).</summary>
    private static void WithRegion(string type, Action test)
    {
        if (type == "pages")
        {
            ModuleReload.WithPages4K(test);
        }
        else
        {
            ModuleReload.WithRegionsOfType(type, test);
        }
    }

    private static CachingMode ModeOf(string type) => type switch
    {
        "wc" => CachingMode.WriteCombining,
        "uc" => CachingMode.Uncached,
        _ => CachingMode.WriteBack,
    };

    /// <summary>
    /// A shared mapping of <c>Pages</c> pages from region page <c>RegionPage</c>, placed <c>Shift</c> pages past a
    /// 2 MiB-aligned virtual address (MAP_FIXED inside a PROT_NONE reservation), so that the test knows where every
    /// fault-around window starts.
    /// </summary>
    private sealed class Placed : IDisposable
    {
        private readonly nint _reserve;
        private readonly nuint _reserveLength;

        public Placed(MemphysDevice dev, long regionPage, long pages, long shift)
        {
            Pages = pages;
            Shift = shift;
            FirstPfn = BasePfn(dev.GetInfo()) + (ulong)regionPage;
            _reserveLength = (nuint)(pages * Page + 2 * Window2M);
            _reserve = Interop.Libc.MMapAnonymous(0, _reserveLength, Interop.Libc.PROT_NONE,
                Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, -1, 0);
            Assert.NotEqual(Interop.Libc.MAP_FAILED, _reserve);
            nint target = (nint)(((ulong)_reserve + (ulong)Window2M - 1) / (ulong)Window2M * (ulong)Window2M) + (nint)(shift * Page);
            Address = Interop.Libc.MMap(target, (nuint)(pages * Page), Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE,
                Interop.Libc.MAP_SHARED | Interop.Libc.MAP_FIXED, dev.Handle, regionPage * Page);
            Assert.Equal(target, Address);
        }

        public nint Address { get; }

        public long Pages { get; }

        /// <summary>Pages between the 2 MiB boundary and the mapping's start.</summary>
        public long Shift { get; }

        public ulong FirstPfn { get; }

        public void Write(long page) => Volatile.Write(ref *(ulong*)(Address + (nint)(page * Page)), Word(10, (ulong)page));

        public void Dispose() => Interop.Libc.MUnmap(_reserve, _reserveLength);
    }

    /// <summary>
    /// Asserts that exactly the pages of <paramref name="present"/> are mapped, each at its own frame with the faulting
    /// page's entry (<paramref name="reference"/>: write permission, memory type, 4 KiB size), and no other page is.
    /// </summary>
    private static void AssertMapped(MemphysDevice dev, Placed map, Func<long, bool> present, PageTableEntry reference, string what)
    {
        Assert.True(reference.Present, $"{what}: the touched page is not present");
        Assert.Equal((long)Page, reference.EntrySize);
        for (long page = 0; page < map.Pages; page++)
        {
            PageTableEntry e = dev.QueryPage(map.Address + (nint)(page * Page));
            if (!present(page))
            {
                Assert.False(e.Present, $"{what}: page {page} is present, outside the expected window");
                continue;
            }

            Assert.True(e.Present, $"{what}: page {page} is not present");
            Assert.Equal(map.FirstPfn + (ulong)page, e.Pfn);
            Assert.Equal(reference with { Pfn = e.Pfn }, e);
        }
    }

    private static PageTableEntry Entry(MemphysDevice dev, Placed map, long page) => dev.QueryPage(map.Address + (nint)(page * Page));

    private static void AssertCounts(MemphysDevice dev, ulong pteFaults, ulong prefaulted, string what)
    {
        MemphysStats stats = dev.GetStats();
        Assert.True(stats.PteFaults == pteFaults && stats.Prefaulted == prefaulted,
            $"{what}: expected pte_faults {pteFaults} prefaulted {prefaulted}, found {stats.PteFaults} and {stats.Prefaulted}");
        Assert.Equal(0UL, stats.PmdFaults + stats.PudFaults);
    }

    [DeviceTheory]
    [InlineData(2u)]
    [InlineData(4u)]
    [InlineData(16u)]
    [InlineData(64u)]
    [InlineData(512u)]
    public void OneFaultMapsTheAlignedWindowAroundThePageAndNothingElse(uint around)
    {
        using MemphysDevice dev = OpenFault4K(around);
        Assert.Equal(around, dev.GetInfo().FaultAround);
        using var map = new Placed(dev, regionPage: 0, pages: 1024, shift: 0);
        const long touched = 512 + 301;
        long first = touched / around * around;
        map.Write(touched);
        AssertCounts(dev, 1, around - 1, "after one write");
        AssertMapped(dev, map, p => p >= first && p < first + around, Entry(dev, map, touched), $"fault-around {around}");

        // Every page of the window is there already: no further fault, nothing more prefaulted.
        for (long page = first; page < first + around; page++)
        {
            map.Write(page);
        }

        AssertCounts(dev, 1, around - 1, "after writing the whole window");

        // The page before the window is another window's: one more fault, which fills that window.
        map.Write(first - 1);
        AssertCounts(dev, 2, 2 * (around - 1), "after touching the previous window");
    }

    [DeviceFact]
    public void OffTouchesOnlyTheFaultingPage()
    {
        using MemphysDevice dev = OpenFault4K(1);
        using var map = new Placed(dev, regionPage: 0, pages: 64, shift: 0);
        map.Write(21);
        AssertCounts(dev, 1, 0, "fault-around 1");
        AssertMapped(dev, map, p => p == 21, Entry(dev, map, 21), "fault-around 1");
    }

    [DeviceFact]
    public void TheWindowIsClippedToTheMappingAtBothEnds()
    {
        // 20 pages starting 3 pages into a 16-page window: windows [-3, 13) and [13, 29) of the mapping's pages.
        using MemphysDevice dev = OpenFault4K(16);
        AssertWindowsClippedToTheMapping(dev);
    }

    /// <summary>
    /// 20 pages starting 3 pages into a 16-page window, on a device set to a 16-page fault-around: touching the
    /// first and the last page fills windows [-3, 13) and [13, 29) of the mapping's pages, each clipped to it.
    /// </summary>
    private static void AssertWindowsClippedToTheMapping(MemphysDevice dev)
    {
        using var map = new Placed(dev, regionPage: 0, pages: 20, shift: 3);
        map.Write(0);
        AssertCounts(dev, 1, 12, "after touching the first page");
        AssertMapped(dev, map, p => p < 13, Entry(dev, map, 0), "first window clipped at the mapping's start");

        map.Write(19);
        AssertCounts(dev, 2, 12 + 6, "after touching the last page");
        AssertMapped(dev, map, _ => true, Entry(dev, map, 19), "second window clipped at the mapping's end");
    }

    [DeviceFact]
    public void AMappingAtARegionOffsetOffTheWindowKeepsTheFramesOfItsOffset()
    {
        // Windows follow virtual addresses; the frames follow the mapping's region offset (5 pages here).
        using MemphysDevice dev = OpenFault4K(16);
        using var map = new Placed(dev, regionPage: 5, pages: 48, shift: 0);
        map.Write(20);
        AssertCounts(dev, 1, 15, "after one write");
        AssertMapped(dev, map, p => p is >= 16 and < 32, Entry(dev, map, 20), "window at region offset 5 pages");
    }

    [DeviceFact]
    public void TheLastPagesOfTheRegionAreMappedUpToItsEnd()
    {
        // The last 10 pages of the region, 8 pages into a window: windows [-8, 8) and [8, 24) of the mapping's pages.
        using MemphysDevice dev = OpenFault4K(16);
        long regionPages = RegionPages(dev.GetInfo());
        using var map = new Placed(dev, regionPage: regionPages - 10, pages: 10, shift: 8);
        map.Write(9);
        AssertCounts(dev, 1, 1, "after touching the region's last page");
        AssertMapped(dev, map, p => p >= 8, Entry(dev, map, 9), "window clipped at the region's end");
        Assert.Equal(BasePfn(dev.GetInfo()) + (ulong)regionPages - 1, Entry(dev, map, 9).Pfn);

        map.Write(0);
        AssertCounts(dev, 2, 1 + 7, "after touching the first page");
        AssertMapped(dev, map, _ => true, Entry(dev, map, 0), "all 10 pages");
        Assert.Equal(0UL, dev.GetStats().Refused);
    }

    [DeviceFact]
    public void AMappingKeepsTheFaultAroundOfItsMmapAndEachFileHasItsOwn()
    {
        using MemphysDevice dev = OpenFault4K(16);
        using var before = new Placed(dev, regionPage: 0, pages: 32, shift: 0);
        dev.SetFaultAround(1);
        Assert.Equal(1u, dev.GetInfo().FaultAround);
        using var after = new Placed(dev, regionPage: 0, pages: 32, shift: 0);

        before.Write(0);
        AssertCounts(dev, 1, 15, "the mapping made with 16");
        after.Write(0);
        AssertCounts(dev, 2, 15, "the mapping made with 1");

        // A newly opened file starts with the module's default (the fault_around parameter).
        uint parameter = uint.Parse(File.ReadAllText("/sys/module/memphys/parameters/fault_around").Trim(),
            System.Globalization.CultureInfo.InvariantCulture);
        using MemphysDevice other = DeviceEnvironment.Open();
        Assert.Equal(parameter, other.GetInfo().FaultAround);
    }

    [DeviceFact]
    public void HugeFaultsTakeNoFaultAroundAndAFallbackGetsIt()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen((info.FaultSizes & FaultSizes.Pmd2M) == 0 || info.PhysicalBase % FaultSize.Pmd != 0,
            $"kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} installs no 2 MiB PFN mappings here (fault sizes: {info.FaultSizes})");
        dev.SetMaxFaultSize(FaultSize.Pmd);
        dev.SetFaultAround(16);

        // Virtual and physical addresses congruent modulo 2 MiB: one PMD fault, nothing prefaulted.
        using (var aligned = new Placed(dev, regionPage: 0, pages: 512, shift: 0))
        {
            aligned.Write(7);
            MemphysStats stats = dev.GetStats();
            Assert.Equal((1UL, 0UL, 0UL), (stats.PmdFaults, stats.PteFaults, stats.Prefaulted));
            Assert.Equal(FaultSize.Pmd, Entry(dev, aligned, 7).EntrySize);
        }

        // One page off: the huge fault falls back and the 4 KiB fault maps its window, [-1, 15) of the mapping's pages.
        dev.ResetStats();
        using var shifted = new Placed(dev, regionPage: 0, pages: 512, shift: 1);
        shifted.Write(0);
        MemphysStats fallback = dev.GetStats();
        Assert.Equal((0UL, 1UL, 14UL), (fallback.PmdFaults, fallback.PteFaults, fallback.Prefaulted));
        Assert.True(fallback.FallbackFaults >= 1, "no huge fault fell back");
        AssertMapped(dev, shifted, p => p < 15, Entry(dev, shifted, 0), "fallback window");
    }

    /// <summary>
    /// Every neighbour a fault-around inserts has the region's memory type, the faulting entry's protection and its
    /// own frame, for wc and uc regions too (the neighbours are built from the faulting entry, not from the area's
    /// vm_page_prot), and for the pages method (write-back ZONE_DEVICE pages) where it takes fault-around.
    /// </summary>
    [DeviceTheory]
    [MemberData(nameof(RegionTypes))]
    public void EveryNeighbourHasTheRegionsMemoryType(string type) => WithRegion(type, () =>
    {
        bool pages = type == "pages";
        if (pages)
        {
            SkipWithoutZoneDevice();
        }

        CachingMode mode = ModeOf(type);
        using MemphysDevice dev = Open4K(pages ? MappingMethod.Pages : MappingMethod.Fault, 16);
        const bool around = true; // the pages method too, in 4 KiB folios from 6.15 (WithRegion)

        // Region pages 0..63 at a 2 MiB-aligned address: the write to page 37 fills the window [32, 48).
        using var map = new Placed(dev, regionPage: 0, pages: 64, shift: 0);
        map.Write(37);
        AssertCounts(dev, 1, around ? 15UL : 0UL, $"{type}: after one write");
        PageTableEntry reference = Entry(dev, map, 37);
        Assert.True(reference.MemoryType.Honours(mode), $"{type}: the faulting page mapped {reference.MemoryType.Short()}");
        AssertMapped(dev, map, p => around ? p is >= 32 and < 48 : p == 37, reference, $"{type} region, fault-around 16");
        for (long page = 32; page < 48 && around; page++)
        {
            PageTableEntry e = Entry(dev, map, page);
            Assert.True(e.MemoryType.Honours(mode), $"{type}: neighbour {page} mapped {e.MemoryType.Short()}");
        }

        // The neighbours are writable in place: writing all of them takes no fault, and the data is in their frames.
        for (long page = 32; page < 48; page++)
        {
            map.Write(page);
        }

        AssertCounts(dev, around ? 1UL : 16UL, around ? 15UL : 0UL, $"{type}: after writing the window");
        Assert.Equal("match", Probe("check-pattern", DeviceEnvironment.DevicePath, pages ? "pages" : "fault",
            (32 * Page).ToString(System.Globalization.CultureInfo.InvariantCulture), "16", "10"));
    });

    /// <summary>The pages method's fault-around follows the fault method's window rules: clipped to the mapping and the region.</summary>
    [DeviceFact]
    public void APagesMappingsWindowIsClippedToTheMappingAndTheRegion() => ModuleReload.WithPages4K(() =>
    {
        SkipWithoutZoneDevice();
        using MemphysDevice dev = Open4K(MappingMethod.Pages, 16);
        AssertWindowsClippedToTheMapping(dev);

        dev.ResetStats();
        long regionPages = RegionPages(dev.GetInfo());
        using var last = new Placed(dev, regionPage: regionPages - 10, pages: 10, shift: 8);
        last.Write(9);
        AssertCounts(dev, 1, 1, "after touching the region's last page");
        AssertMapped(dev, last, p => p >= 8, Entry(dev, last, 9), "window clipped at the region's end");
        Assert.Equal(0UL, dev.GetStats().Refused);
    });
}
