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

    [DeviceFact]
    public void PoisonSignalsOnlyTheMappingProcessAndTheModuleStillUnloads() => ModuleReload.WithPages4K(() =>
    {
        SkipWithoutZoneDevice();
        Assert.SkipUnless(File.Exists(OtherDevice), $"needs a second region ({OtherDevice}) for the process that must stay untouched");
        using (MemphysDevice other = MemphysDevice.Open(OtherDevice))
        {
            Assert.SkipWhen(other.GetInfo().PagesErrno != 0, $"{OtherDevice} has no pages method (pages_errno {other.GetInfo().PagesErrno})");
        }

        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // Children: one maps 16 pages of each region; the one on memphys0 poisons its first page. It must get the
        // action-required SIGBUS at that page (lsb: the size of the entry the kernel unmapped, which depends on the
        // kernel and the folio), and the other region's process must find its data unchanged.
        string result = Probe("hwpoison", DeviceEnvironment.DevicePath, OtherDevice, "16");
        Assert.SkipWhen(result.StartsWith("victim=EINVAL ", StringComparison.Ordinal),
            "madvise(MADV_HWPOISON) is EINVAL: this kernel has no CONFIG_MEMORY_FAILURE");
        Assert.StartsWith("victim=BUS_MCEERR_AR at=page lsb=", result, StringComparison.Ordinal);
        Assert.EndsWith(" other=intact", result, StringComparison.Ordinal);

        // Nothing of the poisoned folio stays referenced: the module unloads (WithRegionsOfType then loads it again,
        // which gives the region fresh struct pages without the poison flag).
        Assert.Equal("OK", ModuleReload.Unload());
        string[] since = ModuleReload.KernelLogSince(log);
        Assert.Contains(since, l => l.Contains("recovery action for dax page: Recovered", StringComparison.Ordinal));
        Assert.DoesNotContain(since, l => l.Contains("WARNING:", StringComparison.Ordinal) ||
            l.Contains("BUG:", StringComparison.Ordinal) || l.Contains("Oops", StringComparison.Ordinal));
    });
}
