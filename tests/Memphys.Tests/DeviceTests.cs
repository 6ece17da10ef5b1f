using System.Globalization;

namespace Memphys.Tests;

/// <summary>Basic tests against the real driver; they run only in the VM guest (root, /dev/memphys0).</summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class DeviceTests
{
    private const long SmallLength = 64 * 4096;

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
        if (!map.IsPfnMap)
        {
            Assert.All(map.GetResidency(), Assert.True);
        }

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
        if (!map.IsPfnMap)
        {
            Assert.All(map.GetResidency(), Assert.False);
        }

        _ = System.Threading.Volatile.Read(ref map.Pointer[map.Length - 1]);
        MemphysStats d = dev.GetStats().Since(before);
        Assert.Equal(1UL, d.MmapCalls);
        Assert.Equal(0UL, d.BytesRemapped);
        Assert.Equal(1UL, d.PteFaults);
    }

    [DeviceFact]
    public void FaultMethodFaultsOncePerTouchedPage()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        dev.SetMethod(MappingMethod.Fault);
        dev.SetMaxFaultSize(FaultSize.Pte);
        MemphysStats before = dev.GetStats();
        using MemphysMapping map = dev.Map(0, SmallLength);
        bool visible = !map.IsPfnMap; // page walks (mincore) skip VM_PFNMAP mappings
        Assert.True(!visible || PageInspector.CountResident(map.BaseAddress, map.Length) == 0, "pages resident right after mmap");
        Assert.Equal(0UL, dev.GetStats().Since(before).TotalFaults);
        long pages = map.TouchPages();
        map.TouchPages(write: true); // already mapped: no further faults
        MemphysStats d = dev.GetStats().Since(before);
        Assert.Equal((ulong)pages, d.PteFaults);
        Assert.Equal(0UL, d.PmdFaults + d.PudFaults);
        if (visible)
        {
            Assert.All(map.GetResidency(), Assert.True);
        }
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
    public void PagemapPfnIsBasePlusIndex()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysInfo info = dev.GetInfo();
        const long offset = 32 * 4096;
        int checkedMappings = 0;
        foreach (MappingMethod method in new[] { MappingMethod.Remap, MappingMethod.Fault })
        {
            dev.SetMethod(method);
            using MemphysMapping map = dev.Map(offset, SmallLength);
            map.TouchPages();
            if (map.IsPfnMap)
            {
                continue; // pagemap's page walk skips VM_PFNMAP mappings: nothing to read
            }

            checkedMappings++;
            PagemapEntry[] entries = map.ReadPagemap();
            ulong basePfn = (info.PhysicalBase + offset) / info.PageSize;
            for (int i = 0; i < entries.Length; i++)
            {
                Assert.True(entries[i].Present, $"{method}: page {i} not present");
                Assert.Equal(basePfn + (ulong)i, entries[i].Pfn);
            }
        }

        Assert.SkipWhen(checkedMappings == 0, "both methods give VM_PFNMAP mappings, which /proc/self/pagemap cannot show");
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
        priv.Pointer[0] = 0x22;
        Assert.Equal(0x11, shared.Pointer[0]);
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
