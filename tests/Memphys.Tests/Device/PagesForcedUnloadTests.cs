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
        // rmmod -f (delete_module with O_TRUNC) while only a pipe holds 64 pages: it must not free them. It blocks in
        // module_exit until the pipe is drained (the child still waits once its unload is under way), the data the
        // pipe gives back is intact, and then the unload completes.
        AssertForcedUnload("pin-force-unload", "64", "forced=waiting data=intact unload=OK",
            "forced unload while its pages may be in use: waiting until every mapping and pin of them is released"));

    [DeviceFact]
    public void AKilledForcedUnloadWaitsOnWhileAMappingRemainsThenFreesTheRegion() => ModuleReload.WithPages4K(() =>
        // rmmod -f while a process still maps 16 pages (no pin, its file closed), then SIGKILL to the rmmod: the area's
        // close and faults run the module's code, so the unload must not return (and free that code) while it exists.
        // The killed child still waits 2 s later with the module loaded; once the mapping is gone the unload completes.
        AssertForcedUnload("map-force-unload", "16", "forced=waiting killed=waiting loaded=yes data=intact unload=killed",
            "forced unload killed while its pages are mapped or open: waiting on until every mapping and open file of them is gone"));

    /// <summary>
    /// Runs the probe's forced-unload <paramref name="command"/> over <paramref name="pages"/> pages and checks its
    /// <paramref name="expected"/> result, then that the region was freed rather than left behind (it loads again
    /// with struct pages: a pgmap left behind would conflict) and that the kernel log has
    /// <paramref name="waitingLine"/> and no report.
    /// </summary>
    private static void AssertForcedUnload(string command, string pages, string expected, string waitingLine)
    {
        SkipWithoutZoneDevice();
        int log = ModuleReload.KernelLogLines();
        GC.Collect();
        GC.WaitForPendingFinalizers();

        string result = Probe(command, DeviceEnvironment.DevicePath, "memphys", pages);
        Assert.SkipWhen(result.StartsWith("forced=returned", StringComparison.Ordinal) && result.EndsWith("unload=EAGAIN", StringComparison.Ordinal),
            "this kernel has no MODULE_FORCE_UNLOAD: delete_module(O_TRUNC) refuses like rmmod");
        Assert.Equal(expected, result);
        Assert.False(ModuleReload.Loaded);

        Assert.Equal("OK", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("pages")}"));
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            Assert.Equal(0, dev.GetInfo().PagesErrno);
        }

        string[] since = ModuleReload.KernelLogSince(log);
        Assert.Contains(since, l => l.Contains(waitingLine, StringComparison.Ordinal));
        Assert.DoesNotContain(since, l => l.Contains("WARNING:", StringComparison.Ordinal) || l.Contains("BUG:", StringComparison.Ordinal)
            || l.Contains("Oops", StringComparison.Ordinal) || l.Contains("leaving its", StringComparison.Ordinal));
    }
}
