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

    public static TheoryData<long> HugeSizes => new(FaultSize.Pmd, FaultSize.Pud);

    /// <summary>Runs <paramref name="test"/> with the harness's regions loaded with the pages option.</summary>
    private static void WithPages(Action test) => ModuleReload.WithRegionsOfType("pages", () =>
    {
        SkipWithoutZoneDevice();
        test();
    });

    /// <summary>As <see cref="WithPages"/>, in 4 KiB folios where the default ones take no 4 KiB entries (6.15+).</summary>
    private static void WithPages4K(Action test) => ModuleReload.WithPages4K(() =>
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
    /// 1 GiB); from 6.15 an entry maps one whole folio: exactly the folio size, and 4 KiB ones only in 4 KiB folios.
    /// A region loaded with <c>folio=4K</c> has 4 KiB folios: 4 KiB entries only.
    /// </summary>
    private static long[] PagesEntrySizes(MemphysInfo info)
    {
        Version v = KernelVersion();
        if (File.ReadAllText("/sys/class/misc/memphys0/source").Contains(":folio=4K", StringComparison.Ordinal))
        {
            return [FaultSize.Pte];
        }

        bool Aligned(long size) => info.PhysicalBase % (ulong)size == 0 && info.RegionSize % size == 0;
        string[] cpuFlags = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("flags", StringComparison.Ordinal))?
            .Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
        var huge = new List<long>();
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
            return [huge.Max()];
        }

        return [FaultSize.Pte, .. huge];
    }

    private static string SizeName(long size) => size switch
    {
        FaultSize.Pud => "1G",
        FaultSize.Pmd => "2M",
        _ => "4K",
    };

    private static void AssertFrames(MemphysDevice dev, MemphysMapping map, long[] pages, long entrySize, string what)
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
        Assert.Equal(Interop.Errors.EOPNOTSUPP, ((IMemphysError)e).Errno);
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
            long size = harness.RegionSize - Page;
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
    public void EachTouchedPageTakesOneFaultAndMapsItsOwnFrame() => WithPages4K(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        MemphysInfo info = dev.GetInfo();
        Assert.Contains(MappingMethod.Pages, info.SupportedMethods);
        Assert.Equal(0, info.PagesErrno);
        Assert.Equal(string.Join(' ', PagesEntrySizes(info).Select(SizeName)), File.ReadAllText("/sys/class/misc/memphys0/pages").Trim());
        dev.SetMaxFaultSize(FaultSize.Pte);
        dev.SetFaultAround(1); // FaultAroundTests cover the pages method's fault-around

        long offset = info.RegionSize / 2 + 5 * Page;
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
    public void AnAlignedBlockTakesOneFaultOfTheLargestEntryTheKernelInserts(long size) => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        MemphysInfo info = dev.GetInfo();
        Assert.SkipWhen(info.RegionSize < size || info.PhysicalBase % (ulong)size != 0,
            $"the region ({info.RegionSize:x} at {info.PhysicalBase:x}) holds no aligned {MemphysDevice.FormatSize(size)} block");
        long[] fits = [.. PagesEntrySizes(info).Where(s => s <= size)];
        Assert.SkipWhen(fits.Length == 0, $"this region's pages mappings take {SizeName(PagesEntrySizes(info).Min())} entries only " +
            $"(6.15+: the folio size), none within a {MemphysDevice.FormatSize(size)} block");
        long entry = fits.Max();
        dev.SetMaxFaultSize(entry);
        dev.SetFaultAround(1);

        using MemphysMapping map = dev.Map(0, size, alignment: size);
        map.Pointer[12345] = 1;
        MemphysStats stats = dev.GetStats();
        Assert.Equal(entry == FaultSize.Pud ? 1UL : 0UL, stats.PudFaults);
        Assert.Equal(entry == FaultSize.Pmd ? 1UL : 0UL, stats.PmdFaults);
        Assert.Equal(entry == FaultSize.Pte ? 1UL : 0UL, stats.PteFaults);
        long pages = entry / Page;
        long first = 12345 / Page / pages * pages;
        AssertFrames(dev, map, [first, first + pages / 2, first + pages - 1], entry, $"{MemphysDevice.FormatSize(entry)} entry");

        // The first 2 MiB written: one fault per entry, the first one's included.
        long touched = 512 * Page;
        map.TouchPages(0, touched, write: true);
        Assert.Equal((ulong)Math.Max(1, touched / entry), dev.GetStats().TotalFaults);
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
        Assert.SkipWhen(info.RegionSize < FaultSize.Pud || info.PhysicalBase % (ulong)FaultSize.Pud != 0,
            $"the region ({info.RegionSize:x} at {info.PhysicalBase:x}) holds no aligned 1 GiB block");
        long entry = PagesEntrySizes(info).Max();
        dev.SetMaxFaultSize(entry);
        dev.SetFaultAround(1);
        using MemphysMapping map = dev.Map(0, FaultSize.Pud, alignment: FaultSize.Pud);
        for (long offset = 0; offset < FaultSize.Pud; offset += FaultSize.Pmd)
        {
            map.Pointer[offset] = 1;
        }

        MemphysStats stats = dev.GetStats();
        const ulong per2M = FaultSize.Pud / FaultSize.Pmd;
        Assert.Equal((entry == FaultSize.Pte ? per2M : 0, entry == FaultSize.Pmd ? per2M : 0, entry == FaultSize.Pud ? 1UL : 0),
            (stats.PteFaults, stats.PmdFaults, stats.PudFaults));
        long last = FaultSize.Pud / Page - 1;
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
    public void OnlyPagesMappingsMapTheRegionsOwnInode() => WithPages4K(() =>
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
    public void PinningWorksOnPagesAndIsRefusedOnTheOtherMethodsOfTheSameRegion() => WithPages4K(() =>
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
        long bytes = Math.Min(dev.GetInfo().RegionSize, 1L << 30);
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
    public void UnloadIsRefusedWhileAPageIsMappedOrPinnedAndCleanAfter() => WithPages4K(() =>
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
    /// From 6.15 a pages mapping of a region of large folios (the default: the largest its alignment allows) takes
    /// entries of the folio size only, as device-dax: mmap refuses an offset, length or address off the folio size and a
    /// largest fault size below it (EINVAL), munmap/mprotect refuse to split a folio (EINVAL), and a folio-aligned mapping
    /// takes one fault of the folio size with a mapcount on the folio. Where 4 KiB entries are allowed (devmap entries up
    /// to 6.14), nothing is refused.
    /// </summary>
    [DeviceFact]
    public void ARegionOfLargeFoliosTakesEntriesOfTheFolioSizeOnlyAndRefusesTheRest() => WithPages(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        IReadOnlyList<long> sizes = dev.PagesEntrySizes();
        Assert.SkipWhen(sizes.Contains(FaultSize.Pte), $"this region's pages mappings take 4 KiB entries (sysfs pages: " +
            $"{string.Join(' ', sizes.Select(SizeName))}): up to 6.14 as devmap entries, or in 4 KiB folios; nothing to refuse");
        long folio = Assert.Single(sizes);
        MemphysInfo info = dev.GetInfo();
        Assert.Equal(0, info.PagesErrno);
        const int rw = Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE;
        dev.SetMaxFaultSize(folio);
        ulong refused = dev.GetStats().Refused;
        Assert.Equal(Interop.Errors.EINVAL, MMapErrno(dev, 0, Page, rw, Interop.Libc.MAP_SHARED));
        Assert.Equal(Interop.Errors.EINVAL, MMapErrno(dev, Page, folio, rw, Interop.Libc.MAP_SHARED));
        Assert.Equal(Interop.Errors.EINVAL, MMapErrno(dev, 0, folio + Page, rw, Interop.Libc.MAP_SHARED));
        dev.SetMaxFaultSize(FaultSize.Pte); // accepted (the fault method takes it), refused by a pages mmap
        Assert.Equal(Interop.Errors.EINVAL, MMapErrno(dev, 0, folio, rw, Interop.Libc.MAP_SHARED));
        Assert.Equal(refused + 4, dev.GetStats().Refused);

        dev.SetMaxFaultSize(folio);
        dev.ResetStats();
        using MemphysMapping map = dev.Map(0, folio, alignment: folio);
        map.Pointer[5 * Page] = 7;
        MemphysStats stats = dev.GetStats();
        Assert.Equal((0UL, folio == FaultSize.Pmd ? 1UL : 0UL, folio == FaultSize.Pud ? 1UL : 0UL),
            (stats.PteFaults, stats.PmdFaults, stats.PudFaults));
        AssertFrames(dev, map, [0, 5, folio / Page - 1], folio, $"{SizeName(folio)} folio");

        // A split inside the folio: EINVAL from munmap and mprotect; the mapping stays whole.
        Assert.Equal(-1, Interop.Libc.MUnmap(map.BaseAddress, (nuint)Page));
        Assert.Equal(Interop.Errors.EINVAL, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        Assert.Equal(-1, Interop.Libc.MProtect(map.BaseAddress + (nint)Page, (nuint)Page, Interop.Libc.PROT_READ));
        Assert.Equal(Interop.Errors.EINVAL, System.Runtime.InteropServices.Marshal.GetLastPInvokeError());
        Assert.Equal(7, map.Pointer[5 * Page]);
    });

    /// <summary>
    /// The folio= option: 4K gives 4 KiB folios and 4 KiB entries only on every kernel with ZONE_DEVICE; a size that is not
    /// 4K, 2M or 1G, or folio= without :pages, refuses the load (EINVAL).
    /// </summary>
    [DeviceFact]
    public void TheFolioOptionSetsTheFolioSizeAndABadOneRefusesTheLoad()
    {
        ModuleReload.Require();
        try
        {
            Assert.Equal("OK", ModuleReload.Unload());
            Assert.Equal("EINVAL", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("pages:folio=3M")}"));
            Assert.Equal("EINVAL", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("folio=4K")}"));
            Assert.Equal("OK", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("pages:folio=4K")}"));
            SkipWithoutZoneDevice();
            Assert.Equal("4K", File.ReadAllText("/sys/class/misc/memphys0/pages").Trim());
            using MemphysDevice dev = OpenWith(MappingMethod.Pages);
            Assert.Equal([FaultSize.Pte], dev.PagesEntrySizes());
            Assert.Contains("folios of 4 KiB", string.Join('\n', ModuleReload.KernelLogSince(0)), StringComparison.Ordinal);
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    /// <summary>
    /// A region of 4 KiB folios takes 4 KiB entries with fault-around on every kernel, and from 6.15, where each entry is
    /// a referenced, rmapped page, the mapping's /proc/self/smaps counts each mapped page once with a mapcount of one:
    /// Rss and Pss of the 16 pages, all private (Pss divides a page by its mapcount, Shared_* counts pages mapped more
    /// than once; /proc/kpagecount cannot tell, it reads 0 for every ZONE_DEVICE page). Up to 6.14 the entries are
    /// devmap entries, which smaps does not count.
    /// </summary>
    [DeviceFact]
    public void FourKiBFoliosTakeFaultAroundWithOneMapcountPerMappedPage() => WithPages4K(() =>
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Pages);
        Assert.Contains(FaultSize.Pte, dev.PagesEntrySizes());
        dev.SetMaxFaultSize(FaultSize.Pte);
        dev.SetFaultAround(16);
        long offset = 64 * Page;
        bool rmapped = PagesEntriesRmapped();
        using (MemphysMapping map = dev.Map(offset, 64 * Page, alignment: 64 * Page))
        {
            *PageWord(map, 21) = Word(Seed, 21);
            MemphysStats stats = dev.GetStats();
            Assert.Equal((1UL, 15UL), (stats.PteFaults, stats.Prefaulted));
            long[] window = [.. Enumerable.Range(16, 16).Select(i => (long)i)];
            AssertFrames(dev, map, window, FaultSize.Pte, "fault-around window");
            ulong bytes = rmapped ? 16UL * (ulong)Page : 0UL;
            Assert.Equal((bytes, bytes, 0UL), (SmapsField(map.BaseAddress, "Rss"), SmapsField(map.BaseAddress, "Pss"),
                SmapsField(map.BaseAddress, "Shared_Clean") + SmapsField(map.BaseAddress, "Shared_Dirty")));
            Assert.Equal(bytes, SmapsField(map.BaseAddress, "Private_Clean") + SmapsField(map.BaseAddress, "Private_Dirty"));
            Assert.False(dev.QueryPage(map.BaseAddress + (nint)(15 * Page)).Present);
            Assert.False(dev.QueryPage(map.BaseAddress + (nint)(32 * Page)).Present);
        }
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
    public void EachPagesMappingInPlaceCountsOnceAndARefusedOneDoesNot() => WithPages4K(() =>
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
