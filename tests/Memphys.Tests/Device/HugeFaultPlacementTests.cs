using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// Huge faults where the region's base is not aligned to the fault size (the driver places mappings by
/// physical address, not by region offset), and a write after a read of a huge entry, which is the same
/// mapping and must not be counted twice. Kernels without huge PFN mappings (6.1) skip and say so.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class HugeFaultPlacementTests
{
    private static void RequirePmdFaults(MemphysDevice dev)
    {
        FaultSizes sizes = dev.GetInfo().FaultSizes;
        Assert.SkipWhen((sizes & FaultSizes.Pmd2M) == 0,
            $"kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} installs no 2 MiB PFN mappings (fault sizes: {sizes}; 6.12+)");
    }

    [DeviceFact]
    public void AnUnalignedRegionBaseStillGetsPmdFaultsWhereTheFramesAllow()
    {
        ModuleReload.Require();
        ulong harnessBase = ulong.Parse(ModuleReload.Regions.Split(',')[0].Split('@')[1].Replace("0x", "", StringComparison.Ordinal),
            System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        ulong base4K = harnessBase + (ulong)Page; // one page past a 2 MiB boundary
        try
        {
            ModuleReload.Reload($"regions=16M@0x{base4K:x}");
            using MemphysDevice dev = OpenWith(MappingMethod.Fault);
            RequirePmdFaults(dev);
            dev.SetMaxFaultSize(FaultSize.Pmd);
            // Region offset 2 MiB - 4 KiB is physically 2 MiB-aligned; no alignment hint from the library: the
            // driver's get_unmapped_area must choose a virtual address congruent to the physical one.
            long offset = (long)FaultSize.Pmd - Page;
            using MemphysMapping map = dev.Map(offset, (long)FaultSize.Pmd);
            Assert.Equal((long)(base4K + (ulong)offset) % (long)FaultSize.Pmd, map.BaseAddress % (long)FaultSize.Pmd);
            map.Pointer[4096] = 7;
            MemphysStats stats = dev.GetStats();
            Assert.Equal(1UL, stats.PmdFaults);
            Assert.Equal(0UL, stats.PteFaults);
            PageTableEntry e = dev.QueryPage(map.BaseAddress);
            Assert.Equal(FaultSize.Pmd, e.EntrySize);
            Assert.Equal((base4K + (ulong)offset) / (ulong)Page, e.Pfn);
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    [DeviceFact]
    public void AWriteAfterAReadOfAHugeEntryIsNotCountedAgain()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        RequirePmdFaults(dev);
        Assert.SkipWhen(dev.GetInfo().PhysicalBase % FaultSize.Pmd != 0, "region base is not 2 MiB-aligned");
        dev.SetMaxFaultSize(FaultSize.Pmd);
        using MemphysMapping map = dev.Map(0, (long)FaultSize.Pmd, alignment: FaultSize.Pmd);
        byte before = Volatile.Read(ref map.Pointer[100]);
        Assert.Equal(1UL, dev.GetStats().PmdFaults);
        Volatile.Write(ref map.Pointer[100], (byte)(before + 1));
        Volatile.Write(ref map.Pointer[(int)FaultSize.Pmd - 1], before);
        MemphysStats stats = dev.GetStats();
        Assert.Equal(1UL, stats.PmdFaults);
        Assert.Equal(0UL, stats.PteFaults);
        Assert.True(dev.QueryPage(map.BaseAddress).Writable, "the 2 MiB entry is not writable after a write");
    }
}
