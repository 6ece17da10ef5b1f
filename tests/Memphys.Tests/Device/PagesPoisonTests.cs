using System.Numerics;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// A memory failure on a pages mapping (issue 22). <c>MADV_HWPOISON</c> takes the path a machine check on the page
/// takes: the region's ZONE_DEVICE pages go through <c>memory_failure_dev_pagemap()</c>, whose generic part
/// (<c>mf_generic_kill_procs()</c>) finds the mapping processes through the folio's mapping and index, which the
/// driver's <c>dev_pagemap_ops.memory_failure</c> gives the failed folio (before, it had none and the kernel refused
/// with EBUSY, signalling nobody). The emulator never raises a machine check, so this is the only poison the suite can
/// inject.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed class PagesPoisonTests
{
    private const string OtherDevice = "/dev/memphys1";

    // A page that is not the first of its folio whatever the folio size (2 MiB or 1 GiB): 4000 KiB into the region.
    private const long PoisonedPage = 1000;

    [DeviceFact]
    public void PoisonSignalsOnlyTheMappingProcessAndTheModuleStillUnloads() => ModuleReload.WithPages4K(() =>
    {
        SkipWithoutPagesRegions();
        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // Children: one maps 16 pages of each region; the one on memphys0 poisons its first page. It must get the
        // action-required SIGBUS at that page (lsb: the size of the entry the kernel unmapped, which depends on the
        // kernel and the folio), and the other region's process must find its data unchanged.
        string result = Poison("hwpoison", DeviceEnvironment.DevicePath, OtherDevice, "16");
        Assert.StartsWith("victim=BUS_MCEERR_AR at=page lsb=", result, StringComparison.Ordinal);
        Assert.EndsWith(" other=intact", result, StringComparison.Ordinal);
        AssertUnloadsWithACleanLog(log);
    });

    [DeviceFact]
    public void PoisonInsideALargeFolioSignalsTheProcessMappingThatPage() => ModuleReload.WithRegions(LargeFolioRegions(), () =>
    {
        SkipWithoutPagesRegions();
        IReadOnlyList<long> sizes;
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            sizes = dev.PagesEntrySizes();
        }

        Assert.SkipWhen(sizes.Max() == FaultSize.Pte, $"{DeviceEnvironment.DevicePath} has 4 KiB folios (sysfs pages: 4K): " +
            "its alignment allows no larger ones");
        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        string result;
        if (sizes.Contains(FaultSize.Pte))
        {
            // Up to 6.14 (devmap entries) 4 KiB entries map pages anywhere inside a large folio. The child maps 16 pages
            // around the poisoned one, never the folio's first page: the kernel must find it (the driver gives the folio
            // the failed page's index), signal it at that page with the 4 KiB entry's size and unmap that entry only.
            result = Poison("hwpoison-at", DeviceEnvironment.DevicePath, OtherDevice, "16", $"{PoisonedPage - 8}", "8");
            Assert.Equal("victim=BUS_MCEERR_AR at=page lsb=12 entry=none neighbour=4K other=intact", result);
        }
        else
        {
            // From 6.15 an entry maps a whole folio (one size only) and the folio is rmapped at its own offset: the child
            // maps the folio that holds the poisoned page, and the kernel signals it at the entry (the folio's start)
            // with the folio's size and unmaps the whole entry.
            long folio = Assert.Single(sizes);
            long folioPages = folio / Page;
            result = Poison("hwpoison-at", DeviceEnvironment.DevicePath, OtherDevice, $"{folioPages}",
                $"{PoisonedPage / folioPages * folioPages}", $"{PoisonedPage % folioPages}");
            Assert.Equal($"victim=BUS_MCEERR_AR at=map lsb={BitOperations.Log2((ulong)folio)} entry=none neighbour=none other=intact", result);
        }

        AssertUnloadsWithACleanLog(log);
    });

    /// <summary>The harness's first region <c>:pages</c> in its default folios, the others in 4 KiB folios (the
    /// bystander maps 16 pages, which 6.15+ takes in 4 KiB folios only).</summary>
    private static string LargeFolioRegions() =>
        string.Join(',', ModuleReload.Regions.Split(',').Select((r, i) => i == 0 ? $"{r}:pages" : $"{r}:pages:folio=4K"));

    private static string Poison(params string[] args)
    {
        string result = Probe(args);
        Assert.SkipWhen(result.StartsWith("victim=EINVAL ", StringComparison.Ordinal),
            "madvise(MADV_HWPOISON) is EINVAL: this kernel has no CONFIG_MEMORY_FAILURE");
        return result;
    }

    private static void SkipWithoutPagesRegions()
    {
        SkipWithoutZoneDevice();
        Assert.SkipUnless(File.Exists(OtherDevice), $"needs a second region ({OtherDevice}) for the process that must stay untouched");
        using MemphysDevice other = MemphysDevice.Open(OtherDevice);
        Assert.SkipWhen(other.GetInfo().PagesErrno != 0, $"{OtherDevice} has no pages method (pages_errno {other.GetInfo().PagesErrno})");
    }

    // Nothing of the poisoned folio stays referenced: the module unloads (the caller's reload then gives the region fresh
    // struct pages without the poison flag), and the kernel says the page was recovered, with no warning.
    private static void AssertUnloadsWithACleanLog(int log)
    {
        Assert.Equal("OK", ModuleReload.Unload());
        string[] since = ModuleReload.KernelLogSince(log);
        Assert.Contains(since, l => l.Contains("recovery action for dax page: Recovered", StringComparison.Ordinal));
        Assert.DoesNotContain(since, l => l.Contains("WARNING:", StringComparison.Ordinal) ||
            l.Contains("BUG:", StringComparison.Ordinal) || l.Contains("Oops", StringComparison.Ordinal));
    }
}
