using System.Globalization;

namespace Memphys.Tests;

/// <summary>Basic tests against the real driver; they run only in the VM guest (root, /dev/memphys0).</summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class DeviceTests
{
    private const long SmallLength = 64 * 4096;

    /// <summary>
    /// Asserts the page table entry of every page of <paramref name="map"/> through MEMPHYS_IOC_QUERY_PAGE (device
    /// mappings are VM_PFNMAP, which mincore and /proc/self/pagemap cannot see): pages selected by
    /// <paramref name="present"/> map region base PFN + offset / page size + index, the others are absent.
    /// </summary>
    private static void AssertPageTable(MemphysDevice dev, MemphysMapping map, Func<long, bool> present, string what)
    {
        MemphysInfo info = dev.GetInfo();
        ulong basePfn = info.BasePfn + (ulong)map.RegionOffset / info.PageSize;
        PageTableEntry[] entries = dev.QueryPages(map);
        Assert.Equal(map.PageCount, entries.LongLength);
        for (long i = 0; i < entries.Length; i++)
        {
            PageTableEntry e = entries[i];
            if (present(i))
            {
                Assert.True(e.Present, $"{what}: page {i} not present, expected PFN 0x{basePfn + (ulong)i:x}");
                Assert.True(basePfn + (ulong)i == e.Pfn, $"{what}: page {i} maps PFN 0x{e.Pfn:x}, expected 0x{basePfn + (ulong)i:x}");
            }
            else
            {
                Assert.False(e.Present, $"{what}: page {i} present (PFN 0x{e.Pfn:x}), expected absent");
            }
        }
    }

    [DeviceFact]
    public void InfoMatchesProcIomem()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        Assert.Equal(1u, info.Version);
        Assert.Equal((uint)Environment.SystemPageSize, info.PageSize);
        Assert.True(info.RegionSize > 0 && info.RegionSize % info.PageSize == 0, $"region size {info.RegionSize}");
        Assert.Equal(0UL, info.PhysicalBase % info.PageSize);
        Assert.Contains(MappingMethod.Remap, info.SupportedMethods);
        Assert.Contains(MappingMethod.Fault, info.SupportedMethods);
        Assert.True(info.FaultSizes.HasFlag(FaultSizes.Pte4K));

        string[] lines = File.ReadAllLines("/proc/iomem").Where(l => l.Contains("memphys", StringComparison.OrdinalIgnoreCase)).ToArray();
        Assert.NotEmpty(lines);
        bool found = lines.Any(l =>
        {
            string range = l.Trim().Split(' ', 2)[0];
            string[] parts = range.Split('-');
            return parts.Length == 2
                && ulong.Parse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == info.PhysicalBase
                && ulong.Parse(parts[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == info.PhysicalEnd;
        });
        Assert.True(found, $"no /proc/iomem memphys line {info.PhysicalBase:x}-{info.PhysicalEnd:x}; have: {string.Join(" | ", lines)}");
    }

    [DeviceFact]
    public void RemapMapsWholeRegionResidentWithoutFaults()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        dev.SetMethod(MappingMethod.Remap);
        MemphysStats before = dev.GetStats();
        using MemphysMapping map = dev.Map();
        Assert.Equal((long)info.RegionSize, map.Length);
        MemphysStats d = dev.GetStats().Since(before);
        Assert.Equal(1UL, d.MmapCalls);
        Assert.Equal(info.RegionSize, d.BytesRemapped);
        AssertPageTable(dev, map, _ => true, "remap right after mmap");
        Assert.True(dev.QueryPage(map.BaseAddress).Writable, "shared read-write remap mapping has a read-only entry");

        map.Pointer[0] = 0xA5;
        map.Pointer[map.Length - 1] = 0x5A;
        Assert.Equal(0UL, dev.GetStats().Since(before).TotalFaults);
    }

    [DeviceFact]
    public void FaultMapsWholeRegionWithNothingResident()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        dev.SetMethod(MappingMethod.Fault);
        dev.SetMaxFaultSize(FaultSize.Pte);
        MemphysStats before = dev.GetStats();
        using MemphysMapping map = dev.Map();
        Assert.Equal((long)info.RegionSize, map.Length);
        AssertPageTable(dev, map, _ => false, "fault right after mmap");

        _ = System.Threading.Volatile.Read(ref map.Pointer[map.Length - 1]);
        MemphysStats d = dev.GetStats().Since(before);
        Assert.Equal(1UL, d.MmapCalls);
        Assert.Equal(0UL, d.BytesRemapped);
        Assert.Equal(1UL, d.PteFaults);
        AssertPageTable(dev, map, i => i == map.PageCount - 1, "fault after reading the last page");
    }

    [DeviceFact]
    public void FaultMethodFaultsOncePerTouchedPage()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Fault);
        dev.SetMaxFaultSize(FaultSize.Pte);
        MemphysStats before = dev.GetStats();
        using MemphysMapping map = dev.Map(0, SmallLength);
        AssertPageTable(dev, map, _ => false, "right after mmap");
        Assert.Equal(0UL, dev.GetStats().Since(before).TotalFaults);

        // Every third page first: exactly those get a fault and an entry.
        long page = Environment.SystemPageSize;
        long touched = 0;
        for (long i = 0; i < map.PageCount; i += 3, touched++)
        {
            _ = System.Threading.Volatile.Read(ref map.Pointer[i * page]);
        }

        Assert.Equal((ulong)touched, dev.GetStats().Since(before).PteFaults);
        AssertPageTable(dev, map, i => i % 3 == 0, "after touching every third page");

        long pages = map.TouchPages();
        map.TouchPages(write: true); // already mapped: no further faults
        MemphysStats d = dev.GetStats().Since(before);
        Assert.Equal((ulong)pages, d.PteFaults);
        Assert.Equal(0UL, d.PmdFaults + d.PudFaults);
        AssertPageTable(dev, map, _ => true, "after touching every page");
    }

    [DeviceFact]
    public void BothMethodsAndPreadSeeTheSameBytes()
    {
        using MemphysDevice remapDev = DeviceEnvironment.Open();
        using MemphysDevice faultDev = DeviceEnvironment.Open();
        remapDev.SetMethod(MappingMethod.Remap);
        faultDev.SetMethod(MappingMethod.Fault);
        const long offset = 16 * 4096;
        using MemphysMapping remap = remapDev.Map(offset, SmallLength);
        using MemphysMapping fault = faultDev.Map(offset, SmallLength);

        var rng = new Random(1234);
        byte[] data = new byte[SmallLength];
        rng.NextBytes(data);
        data.CopyTo(remap.AsSpan());
        Assert.True(fault.AsSpan().SequenceEqual(data), "fault mapping differs from what remap wrote");

        rng.NextBytes(data);
        data.CopyTo(fault.AsSpan());
        Assert.True(remap.AsSpan().SequenceEqual(data), "remap mapping differs from what fault wrote");

        byte[] read = new byte[SmallLength];
        Assert.Equal((int)SmallLength, remapDev.Read(offset, read));
        Assert.Equal(data, read);
        byte[] written = [1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal(8, faultDev.Write(offset + 4096, written));
        Assert.True(fault.GetSpan(4096, 8).SequenceEqual(written));
    }

    [DeviceFact]
    public void QueryPagePfnIsBasePlusIndex()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        const long offset = 32 * 4096;
        ulong basePfn = (info.PhysicalBase + offset) / info.PageSize;
        foreach (MappingMethod method in new[] { MappingMethod.Remap, MappingMethod.Fault })
        {
            dev.SetMethod(method);
            using MemphysMapping map = dev.Map(offset, SmallLength);
            map.TouchPages();
            for (int i = 0; i < map.PageCount; i++)
            {
                PageTableEntry e = dev.QueryPage(map.BaseAddress + (i * Environment.SystemPageSize) + 123);
                Assert.True(e.Present, $"{method}: page {i} not present");
                Assert.Equal(basePfn + (ulong)i, e.Pfn);
                Assert.True(e.Writable, $"{method}: page {i} of a shared read-write mapping is read-only");
            }

            // Real kernel behaviour worth knowing: the kernel's page walks skip VM_PFNMAP mappings, so
            // /proc/self/pagemap and mincore(2) report these pages, mapped as they are, as absent.
            Assert.True(map.IsPfnMap, $"{method}: expected a VM_PFNMAP mapping");
            Assert.All(map.ReadPagemap(), e => Assert.False(e.Present, $"{method}: pagemap now shows a VM_PFNMAP page"));
            Assert.All(map.GetResidency(), Assert.False);
        }
    }

    [DeviceFact]
    public void QueryPageOfReadOnlyMappingIsNotWritable()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        foreach (MappingMethod method in new[] { MappingMethod.Remap, MappingMethod.Fault })
        {
            dev.SetMethod(method);
            using MemphysMapping map = dev.Map(0, 4096, MapProtection.Read);
            map.TouchPages();
            PageTableEntry e = dev.QueryPage(map.BaseAddress);
            Assert.True(e.Present, $"{method}: not present");
            Assert.Equal(dev.GetInfo().BasePfn, e.Pfn);
            Assert.False(e.Writable, $"{method}: read-only mapping has a writable entry");
        }
    }

    [DeviceFact]
    public void QueryPageOutsideADeviceMappingIsEinval()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        using MemphysMapping anon = MemphysMapping.CreateAnonymous(4096);
        anon.TouchPages(write: true);
        Assert.Equal("EINVAL", Assert.Throws<MemphysException>(() => dev.QueryPage(anon.BaseAddress)).ErrnoName);
    }

    [DeviceFact]
    public void FaultMethodRefusesPrivateMappings()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Fault);
        var ex = Assert.Throws<MemphysException>(() => dev.Map(0, SmallLength, isPrivate: true));
        Assert.Equal("EINVAL", ex.ErrnoName);
    }

    [DeviceFact]
    public void RemapPrivateMappingIsCopyOnWrite()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Remap);
        using MemphysMapping shared = dev.Map(0, 4096);
        shared.Pointer[0] = 0x11;
        using MemphysMapping priv = dev.Map(0, 4096, isPrivate: true);
        Assert.Equal(0x11, priv.Pointer[0]);
        PageTableEntry before = dev.QueryPage(priv.BaseAddress);
        Assert.True(before.Present && !before.Writable, $"private page before writing: {before}");
        Assert.Equal(dev.GetInfo().BasePfn, before.Pfn);
        priv.Pointer[0] = 0x22;
        Assert.Equal(0x11, shared.Pointer[0]);

        // The write copied the page: the private mapping now points at an ordinary RAM page outside the region.
        PageTableEntry after = dev.QueryPage(priv.BaseAddress);
        MemphysInfo info = dev.GetInfo();
        Assert.True(after.Present && after.Writable, $"private page after writing: {after}");
        Assert.False(after.Pfn >= info.BasePfn && after.Pfn < info.BasePfn + (info.RegionSize / info.PageSize),
            $"copied page PFN 0x{after.Pfn:x} is inside the region");
        Assert.Equal(info.BasePfn, dev.QueryPage(shared.BaseAddress).Pfn);
    }

    [DeviceFact]
    public void MapPastEndIsEinvalWithReadableMessage()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        var ex = Assert.Throws<MemphysException>(() => dev.Map((long)info.RegionSize - 4096, 2 * 4096));
        Assert.Equal("EINVAL", ex.ErrnoName);
        Assert.Contains("past end of", ex.Message);
    }

    [DeviceFact]
    public void BadSettingIsEinval()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        Assert.Equal("EINVAL", Assert.Throws<MemphysException>(() => dev.SetMethod((MappingMethod)99)).ErrnoName);
        Assert.Equal("EINVAL", Assert.Throws<MemphysException>(() => dev.SetCaching((CachingMode)99)).ErrnoName);
        Assert.Equal("EINVAL", Assert.Throws<MemphysException>(() => dev.SetMaxFaultSize(12345)).ErrnoName);
    }

    [DeviceFact]
    public void ResetStatsZeroesCounters()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Remap);
        using (dev.Map(0, 4096))
        {
        }

        dev.ResetStats();
        MemphysStats s = dev.GetStats();
        Assert.Equal(0UL, s.MmapCalls);
        Assert.Equal(0UL, s.TotalFaults);
    }
}
