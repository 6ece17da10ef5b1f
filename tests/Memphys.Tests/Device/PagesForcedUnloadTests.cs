using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// <c>rmmod -f</c> (Debian's kernels have MODULE_FORCE_UNLOAD) while a pipe still holds pages of a pages mapping
/// (issue 22). A forced unload taints the kernel ("Disabling lock debugging due to kernel taint"), which the harness's
/// log scan fails, so these cases run under the <c>Category=DeviceForcedUnload</c> trait alone, in a guest of their
/// own that expects that line (<c>run-in-vm.sh --allow-forced-unload</c>, the <c>guest-forced-unload</c> stage).
/// </summary>
[Trait(DeviceEnvironment.Category, Trait)]
[Collection(DeviceCollection.Name)]
public sealed class PagesForcedUnloadTests
{
    /// <summary>Trait value of these tests: <c>-trait Category=DeviceForcedUnload</c>.</summary>
    public const string Trait = "DeviceForcedUnload";

    [DeviceFact]
    public void AForcedUnloadWaitsUntilThePinnedPagesAreReleasedThenFreesTheRegion() => ModuleReload.WithPages4K(() =>
    {
        SkipWithoutZoneDevice();
        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // rmmod -f (delete_module with O_TRUNC) while only a pipe holds 64 pages: it must not free them. It blocks in
        // module_exit until the pipe is drained (the child still waits once its unload is under way), the data the
        // pipe gives back is intact, and then the unload completes.
        string result = Probe("pin-force-unload", DeviceEnvironment.DevicePath, "memphys", "64");
        Assert.SkipWhen(result == "forced=returned data=intact unload=EAGAIN",
            "this kernel has no MODULE_FORCE_UNLOAD: delete_module(O_TRUNC) refuses like rmmod");
        Assert.Equal("forced=waiting data=intact unload=OK", result);
        Assert.False(ModuleReload.Loaded);

        // The region was freed: it loads again with struct pages (a pgmap left behind would conflict).
        Assert.Equal("OK", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("pages")}"));
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            Assert.Equal(0, dev.GetInfo().PagesErrno);
        }

        string[] since = ModuleReload.KernelLogSince(log);
        Assert.Contains(since, l => l.Contains("forced unload while its pages may be in use: waiting until every mapping and pin of them is released",
            StringComparison.Ordinal));
        Assert.DoesNotContain(since, l => l.Contains("WARNING:", StringComparison.Ordinal) || l.Contains("BUG:", StringComparison.Ordinal)
            || l.Contains("leaving its", StringComparison.Ordinal));
    });

    [DeviceFact]
    public void AKilledForcedUnloadWaitsOnWhileAMappingRemainsThenFreesTheRegion() => ModuleReload.WithPages4K(() =>
    {
        SkipWithoutZoneDevice();
        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        // rmmod -f while a process still maps 16 pages (no pin, its file closed), then SIGKILL to the rmmod: the area's
        // close and faults run the module's code, so the unload must not return (and free that code) while it exists.
        // The killed child still waits 2 s later with the module loaded; once the mapping is gone the unload completes.
        string result = Probe("map-force-unload", DeviceEnvironment.DevicePath, "memphys", "16");
        Assert.SkipWhen(result.StartsWith("forced=returned", StringComparison.Ordinal) && result.EndsWith("unload=EAGAIN", StringComparison.Ordinal),
            "this kernel has no MODULE_FORCE_UNLOAD: delete_module(O_TRUNC) refuses like rmmod");
        Assert.Equal("forced=waiting killed=waiting loaded=yes data=intact unload=killed", result);
        Assert.False(ModuleReload.Loaded);

        // The mapping was the last user: the region was freed, not left behind, so it loads again with struct pages.
        Assert.Equal("OK", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("pages")}"));
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            Assert.Equal(0, dev.GetInfo().PagesErrno);
        }

        string[] since = ModuleReload.KernelLogSince(log);
        Assert.Contains(since, l => l.Contains("forced unload killed while its pages are mapped or open: waiting on until every mapping and open file of them is gone",
            StringComparison.Ordinal));
        Assert.DoesNotContain(since, l => l.Contains("WARNING:", StringComparison.Ordinal) || l.Contains("BUG:", StringComparison.Ordinal)
            || l.Contains("Oops", StringComparison.Ordinal) || l.Contains("leaving its", StringComparison.Ordinal));
    });
}
