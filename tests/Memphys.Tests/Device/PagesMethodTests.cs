using System.Globalization;
using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// The pages method: a region loaded with <c>regions=SIZE@BASE:pages</c> gets ZONE_DEVICE struct pages
/// (memremap_pages, MEMORY_DEVICE_GENERIC) and its fault handler inserts them as drivers/dax does, so the kernel's
/// page pinning works on such mappings (process_vm_readv, vmsplice, O_DIRECT) where it refuses the remap and fault
/// methods' VM_PFNMAP areas with EFAULT. Each test reloads the module with the harness's regions plus <c>:pages</c>
/// and puts it back as the harness loaded it.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class PagesMethodTests
{
    private const int ENODATA = 61;
    private const ulong Seed = 0x9a9e5;

    public static TheoryData<ulong> HugeSizes => new(FaultSize.Pmd, FaultSize.Pud);

    /// <summary>Runs <paramref name="test"/> with the harness's regions loaded with the pages option.</summary>
    private static void WithPages(Action test) => ModuleReload.WithRegionsOfType("pages", () =>
    {
        SkipWithoutZoneDevice();
        test();
    });

    /// <summary>
    /// The entry sizes a pages mapping of this region takes (driver/compat.h), from the kernel version, the CPU's flags
    /// and the region's alignment: 4 KiB everywhere; the region's pages are folios of the largest huge size its
    /// alignment allows, 2 MiB (pse; arm64 always) or 1 GiB (pdpe1gb; never on arm64, which has no PUD-level huge
    /// pages). Pages mappings map a file of the region's own S_DAX inode, so 6.1 offers them 2 MiB and 1 GiB faults
    /// as it does device-dax, and 7.x 1 GiB ones. Up to 6.14 huge devmap entries go up to the folio size (2 MiB and
    /// 1 GiB); from 6.15 a huge entry maps one whole folio: exactly the folio size.
    /// </summary>
    private static ulong[] PagesEntrySizes(MemphysInfo info)
    {
        Version v = KernelVersion();
        bool Aligned(ulong size) => info.PhysicalBase % size == 0 && info.RegionSize % size == 0;
        string[] cpuFlags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        var huge = new List<ulong>();
        if ((GuestPlatform.IsArm64 || cpuFlags.Contains("pse")) && Aligned(FaultSize.Pmd))
        {
            huge.Add(FaultSize.Pmd);
        }

        if (!GuestPlatform.IsArm64 && cpuFlags.Contains("pdpe1gb") && Aligned(FaultSize.Pud))
        {
            huge.Add(FaultSize.Pud);
        }

        if (v >= new Version(6, 15) && huge.Count > 0)
        {
            huge = [huge.Max()];
        }

        return [FaultSize.Pte, .. huge];
    }

    private static string SizeName(ulong size) => size switch
    {
        FaultSize.Pud => "1G",
        FaultSize.Pmd => "2M",
        _ => "4K",
    };

    private static void AssertFrames(MemphysDevice dev, MemphysMapping map, long[] pages, ulong entrySize, string what)
    {
        ulong first = BasePfn(dev.GetInfo()) + (ulong)(map.RegionOffset / Page);
        foreach (long page in pages)
        {
            PageTableEntry e = dev.QueryPage(map.BaseAddress + (nint)(page * Page));
            Assert.True(e.Present, $"{what}: page {page} not present");
            Assert.Equal(first + (ulong)page, e.Pfn);
            Assert.Equal(entrySize, e.EntrySize);
            Assert.True(e.MemoryType.Honours(CachingMode.WriteBack), $"{what}: page {page} mapped {e.MemoryType.Short()}");
        }
    }

    [DeviceFact]
    public void ARegionWithoutThePagesOptionSaysWhyAndRefusesTheMethod()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        Assert.Equal([MappingMethod.Remap, MappingMethod.Fault], info.SupportedMethods);
        Assert.Equal(ENODATA, info.PagesErrno);
        Assert.Equal("none (ENODATA: loaded without :pages)", File.ReadAllText("/sys/class/misc/memphys0/pages").Trim());

        MemphysException e = Assert.Throws<MemphysException>(() => dev.SetMethod(MappingMethod.Pages));
        Assert.Equal(Interop.Errors.EOPNOTSUPP, e.Errno);
        Assert.Contains("regions=SIZE@BASE:pages", e.Message, StringComparison.Ordinal);

        (int code, _, string message) = CliRunner.Run(["map", "--device", DeviceEnvironment.DevicePath, "--method", "pages",
            "--length", "4K"]);
        Assert.NotEqual(0, code);
        Assert.Contains("SET_METHOD pages refused: the region has no struct pages", message, StringComparison.Ordinal);
        Assert.Contains("(EOPNOTSUPP)", message, StringComparison.Ordinal);
    }

    [DeviceFact]
    public void TheLoadRefusesPagesWithAnotherTypeAndAMisalignedRegionLoadsWithoutThem()
    {
        ModuleReload.Require();
        MemphysInfo harness;
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            harness = dev.GetInfo();
        }

        int log = ModuleReload.KernelLogLines();
        try
        {
            Assert.Equal("OK", ModuleReload.Unload());
            Assert.Equal("EINVAL", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("wc:pages")}"));
            Assert.Contains(ModuleReload.KernelLogSince(log), l => l.Contains("the pages option needs the wb memory type", StringComparison.Ordinal));

            // 4 KiB short of the harness's region: not whole 2 MiB subsections, which memremap_pages() needs.
            ulong size = harness.RegionSize - (ulong)Page;
            Assert.Equal("OK", ModuleReload.Load($"regions={size}@0x{harness.PhysicalBase:x}:pages"));
            using MemphysDevice dev = DeviceEnvironment.Open();
            MemphysInfo info = dev.GetInfo();
            Assert.SkipWhen(info.PagesErrno == Interop.Errors.EOPNOTSUPP,
                "this kernel has no ZONE_DEVICE memory (CONFIG_ZONE_DEVICE): no region has the pages method, aligned or not");
            Assert.Equal(Interop.Errors.EINVAL, info.PagesErrno);
            Assert.StartsWith("none (EINVAL", File.ReadAllText("/sys/class/misc/memphys0/pages"), StringComparison.Ordinal);
            Assert.DoesNotContain(MappingMethod.Pages, info.SupportedMethods);
            Assert.Contains(ModuleReload.KernelLogSince(log), l => l.Contains("no pages method: base and size must be multiples of 2 MiB", StringComparison.Ordinal));
            MemphysException e = Assert.Throws<MemphysException>(() => dev.SetMethod(MappingMethod.Pages));
            Assert.Contains("not multiples of 2 MiB", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    [DeviceFact]
    public void EachTouchedPageTakesOneFaultAndMapsItsOwnFrame() => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        MemphysInfo info = dev.GetInfo();
        Assert.Contains(MappingMethod.Pages, info.SupportedMethods);
        Assert.Equal(0, info.PagesErrno);
        Assert.Equal(string.Join(' ', PagesEntrySizes(info).Select(SizeName)), File.ReadAllText("/sys/class/misc/memphys0/pages").Trim());
        dev.SetMaxFaultSize(FaultSize.Pte);
        dev.SetFaultAround(1); // FaultAroundTests cover the pages method's fault-around

        long offset = (long)info.RegionSize / 2 + 5 * Page;
        using MemphysMapping map = dev.Map(offset, 64 * Page);
        Assert.False(map.IsPfnMap, "a pages mapping must not be VM_PFNMAP");
        for (long page = 0; page < 64; page++)
        {
            *PageWord(map, page) = Word(Seed, (ulong)(offset / Page + page));
        }

        MemphysStats stats = dev.GetStats();
        Assert.Equal(64UL, stats.PteFaults);
        // With the THP policy "always" the kernel still offers huge faults (answered VM_FAULT_FALLBACK, counted).
        Assert.Equal(0UL, stats.PmdFaults + stats.PudFaults);
        AssertFrames(dev, map, Enumerable.Range(0, 64).Select(i => (long)i).ToArray(), FaultSize.Pte, "4 KiB pages");

        // The kernel's own page walk sees the pages, unlike VM_PFNMAP areas: /proc/self/pagemap has their PFNs.
        PagemapEntry[] pagemap = map.ReadPagemap();
        Assert.All(pagemap, (e, i) => Assert.True(e.Present, $"pagemap: page {i} not present"));
        map.TouchPages(write: true);
        Assert.Equal(64UL, dev.GetStats().PteFaults);

        // Another process sees the same frames; a private (COW) mapping is refused as for the fault method.
        Assert.Equal("match", Probe("check-pattern", DeviceEnvironment.DevicePath, "pages", offset.ToString(CultureInfo.InvariantCulture),
            "64", Seed.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(Interop.Errors.EINVAL, MMapErrno(dev, 0, Page, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_PRIVATE));
        Assert.Equal("shared", Probe("fork-share", DeviceEnvironment.DevicePath, "pages", "64"));
    });

    [DeviceTheory]
    [MemberData(nameof(HugeSizes))]
    public void AnAlignedBlockTakesOneFaultOfTheLargestEntryTheKernelInserts(ulong size) => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.RegionSize < size || info.PhysicalBase % size != 0,
            $"the region ({info.RegionSize:x} at {info.PhysicalBase:x}) holds no aligned {MemphysDevice.FormatSize(size)} block");
        ulong entry = PagesEntrySizes(info).Where(s => s <= size).Max();
        dev.SetMaxFaultSize(entry);
        dev.SetFaultAround(1);

        using MemphysMapping map = dev.Map(0, (long)size, alignment: size);
        map.Pointer[12345] = 1;
        MemphysStats stats = dev.GetStats();
        Assert.Equal(entry == FaultSize.Pud ? 1UL : 0UL, stats.PudFaults);
        Assert.Equal(entry == FaultSize.Pmd ? 1UL : 0UL, stats.PmdFaults);
        Assert.Equal(entry == FaultSize.Pte ? 1UL : 0UL, stats.PteFaults);
        long pages = (long)entry / Page;
        long first = 12345 / Page / pages * pages;
        AssertFrames(dev, map, [first, first + pages / 2, first + pages - 1], entry, $"{MemphysDevice.FormatSize(entry)} entry");

        // The first 2 MiB written: one fault per entry, the first one's included.
        long touched = 512 * Page;
        map.TouchPages(0, touched, write: true);
        Assert.Equal((ulong)Math.Max(1, touched / (long)entry), dev.GetStats().TotalFaults);
    });

    /// <summary>
    /// One GiB mapped with the largest entry this kernel gives pages mappings, one write per 2 MiB: one PUD fault where
    /// it offers 1 GiB faults (6.1 and 7.x through the region's DAX inode, 6.12 as devmap entries), 512 PMD faults
    /// where only 2 MiB ones, 512 PTE faults where none.
    /// </summary>
    [DeviceFact]
    public void AGibibyteTakesOneFaultPerLargestEntry() => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.RegionSize < FaultSize.Pud || info.PhysicalBase % FaultSize.Pud != 0,
            $"the region ({info.RegionSize:x} at {info.PhysicalBase:x}) holds no aligned 1 GiB block");
        ulong entry = PagesEntrySizes(info).Max();
        dev.SetMaxFaultSize(entry);
        dev.SetFaultAround(1);
        using MemphysMapping map = dev.Map(0, (long)FaultSize.Pud, alignment: FaultSize.Pud);
        for (long offset = 0; offset < (long)FaultSize.Pud; offset += (long)FaultSize.Pmd)
        {
            map.Pointer[offset] = 1;
        }

        MemphysStats stats = dev.GetStats();
        ulong per2M = FaultSize.Pud / FaultSize.Pmd;
        Assert.Equal((entry == FaultSize.Pte ? per2M : 0, entry == FaultSize.Pmd ? per2M : 0, entry == FaultSize.Pud ? 1UL : 0),
            (stats.PteFaults, stats.PmdFaults, stats.PudFaults));
        long last = (long)(FaultSize.Pud / (ulong)Page) - 1;
        AssertFrames(dev, map, entry == FaultSize.Pte ? [0, 512] : [0, 512, last], entry, $"{SizeName(entry)} entries of 1 GiB");
    });

    /// <summary>The line of /proc/self/maps whose range holds <paramref name="address"/>: its path, or "".</summary>
    private static string MapsPath(nint address)
    {
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            string[] f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            string[] range = f[0].Split('-');
            ulong start = ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            ulong end = ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if ((ulong)address >= start && (ulong)address < end)
            {
                return f.Length > 5 ? f[5].Trim() : "";
            }
        }

        return "";
    }

    /// <summary>
    /// A pages mapping maps the region's own inode (S_DAX, of memphys's pseudo-filesystem), not the /dev file; the
    /// remap and fault methods' mappings of the same file stay mappings of /dev/memphys0.
    /// </summary>
    [DeviceFact]
    public void OnlyPagesMappingsMapTheRegionsOwnInode() => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        dev.SetMaxFaultSize(FaultSize.Pte);
        using MemphysMapping pages = dev.Map(0, 16 * Page);
        pages.TouchPages(write: true);
        string path = MapsPath(pages.BaseAddress);
        Assert.False(path.StartsWith(DeviceEnvironment.DevicePath, StringComparison.Ordinal), $"a pages mapping maps {path}");
        Assert.Contains(Path.GetFileName(DeviceEnvironment.DevicePath), path, StringComparison.Ordinal);
        foreach (MappingMethod method in PfnMapMethods)
        {
            dev.SetMethod(method);
            using MemphysMapping map = dev.Map(0, 16 * Page);
            Assert.Equal(DeviceEnvironment.DevicePath, MapsPath(map.BaseAddress));
        }
    });

    [DeviceFact]
    public void PinningWorksOnPagesAndIsRefusedOnTheOtherMethodsOfTheSameRegion() => WithPages(() =>
    {
        // process_vm_readv and vmsplice pin pages (get/pin_user_pages): VM_PFNMAP areas have none, EFAULT.
        // /proc/PID/mem falls back to the mapping's .access (generic_access_phys) for them.
        Assert.Equal("process_vm_readv=OK proc_mem=OK vmsplice=OK", Probe("gup", DeviceEnvironment.DevicePath, "pages", "256"));
        foreach (MappingMethod method in PfnMapMethods)
        {
            string name = method.ToString().ToLowerInvariant();
            Assert.Equal("process_vm_readv=EFAULT proc_mem=OK vmsplice=EFAULT", Probe("gup", DeviceEnvironment.DevicePath, name, "256"));

            // The region's pages do not change what the PFN-map methods map.
            using MemphysDevice dev = OpenWith(method);
            dev.SetMaxFaultSize(FaultSize.Pte);
            using MemphysMapping map = dev.Map(0, 16 * Page);
            map.TouchPages(write: true);
            Assert.True(map.IsPfnMap);
            AssertFrames(dev, map, [0, 7, 15], FaultSize.Pte, $"{name} on a pages region");
        }
    });

    [DeviceFact]
    public void AnODirectReadFromABlockDeviceFillsAPagesMappingByteExact() => WithPages(() =>
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        long bytes = (long)Math.Min(dev.GetInfo().RegionSize, 1UL << 30);
        string image = "/tmp/memphys-odirect.img";
        string loop = AttachLoop(image, bytes);
        try
        {
            Assert.Equal($"OK {bytes}", Probe("odirect", DeviceEnvironment.DevicePath, "pages", loop, bytes.ToString(CultureInfo.InvariantCulture), "77"));
            Assert.Equal("EFAULT at 0", Probe("odirect", DeviceEnvironment.DevicePath, "fault", loop, (1 << 20).ToString(CultureInfo.InvariantCulture), "77"));
        }
        finally
        {
            Run("losetup", "-d", loop);
            File.Delete(image);
        }
    });

    /// <summary>A loop device over a new file of <paramref name="bytes"/> holding the pattern of seed 77.</summary>
    private static string AttachLoop(string image, long bytes)
    {
        if (!Directory.Exists("/sys/module/loop"))
        {
            string dir = Path.Combine(Environment.GetEnvironmentVariable("MEMPHYS_KERNEL_MODULES") ?? "", "kernel/drivers/block");
            string? ko = Directory.Exists(dir) ? Directory.GetFiles(dir, "loop.ko*").FirstOrDefault() : null;
            Assert.True(ko is not null, $"no loop module in {dir} (MEMPHYS_KERNEL_MODULES, set by tests/vm/run-in-vm.sh)");
            (int exit, string output) = Run("insmod", ko);
            Assert.True(exit == 0, $"insmod {ko}: {output}");
        }

        Assert.Equal("OK", Probe("fill-file", image, bytes.ToString(CultureInfo.InvariantCulture), "77"));
        // -f, then attach: the short options that busybox's losetup (the arm64 guests') knows too.
        (int code, string dev) = Run("losetup", "-f");
        Assert.True(code == 0, $"losetup -f: {dev}");
        (code, string attached) = Run("losetup", dev.Trim(), image);
        Assert.True(code == 0, $"losetup {dev.Trim()} {image}: {attached}");
        return dev.Trim();
    }

    [DeviceFact]
    public void UnloadIsRefusedWhileAPageIsMappedOrPinnedAndCleanAfter() => WithPages(() =>
    {
        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // mapped: the open file holds the module; pinned: a pipe holds pages after munmap() and close().
        Assert.Equal("mapped=EAGAIN pinned=EAGAIN drained=OK",
            string.Join(' ', Probe("pin-unload", DeviceEnvironment.DevicePath, "memphys", "64").Split(' ').Take(3)));
        Assert.False(ModuleReload.Loaded);
        Assert.DoesNotContain(ModuleReload.KernelLogSince(log), l => l.Contains("WARNING:", StringComparison.Ordinal) ||
            l.Contains("BUG:", StringComparison.Ordinal));
    });

    /// <summary>
    /// <c>mmap_calls</c> counts the pages mappings that are in place, <c>refused</c> the ones the driver refused. On 7.2
    /// the driver describes an area in <c>.mmap_prepare</c>, before it exists, and counts it in <c>vm_ops-&gt;mapped</c>
    /// once the core has made it (issue 22: counting in <c>.mmap_prepare</c> would count a mapping the core then fails).
    /// No test can make the core fail after <c>.mmap_prepare</c> here: what <c>__mmap_region()</c> (mm/vma.c) still does
    /// after it for a file area without an <c>mmap_action</c>, as a pages area is, is allocate the area
    /// (<c>vm_area_alloc()</c>) and its maple-tree nodes (<c>vma_iter_prealloc()</c>), which fail only with ENOMEM, and
    /// Debian's kernels have no fault injection to force that (<c>CONFIG_FAULT_INJECTION</c> is not set); the checks that
    /// can refuse a mapping otherwise (address, <c>max_map_count</c>, rlimits, the LSM hook) all run before
    /// <c>.mmap_prepare</c>. A pages area has VM_DONTEXPAND, one of VM_SPECIAL, so <c>vma_merge_new_range()</c> never
    /// merges it into a neighbour and <c>.mapped</c> runs for every one. (mm/vma.c of 7.2 was not at hand for this
    /// change; this rests on the 7.x structure of <c>__mmap_region()</c> as the driver's remap and fault methods already use it.)
    /// </summary>
    [DeviceFact]
    public void EachPagesMappingInPlaceCountsOnceAndARefusedOneDoesNot() => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        MemphysStats before = dev.GetStats();
        // Two mappings of consecutive file offsets: a merge, where allowed, would make them one area.
        using (MemphysMapping first = dev.Map(0, 16 * Page))
        using (MemphysMapping second = dev.Map(16 * Page, 16 * Page))
        {
            *PageWord(first, 0) = 1;
            *PageWord(second, 0) = 2;
        }

        Assert.Equal(Interop.Errors.EINVAL, MMapErrno(dev, 0, Page, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_PRIVATE));
        MemphysStats after = dev.GetStats();
        Assert.Equal(before.MmapCalls + 2, after.MmapCalls);
        Assert.Equal(before.Refused + 1, after.Refused);
    });
}
