using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// Reloading memphys with other parameters inside the guest, and putting it back as the harness loaded it
/// (MEMPHYS_KO, MEMPHYS_REGIONS from tests/vm/run-in-vm.sh).
/// </summary>
internal static class ModuleReload
{
    public static string Ko => Environment.GetEnvironmentVariable("MEMPHYS_KO") ?? "";

    public static string Regions => Environment.GetEnvironmentVariable("MEMPHYS_REGIONS") ?? "";

    public static bool Loaded => File.ReadLines("/proc/modules").Any(l => l.StartsWith("memphys ", StringComparison.Ordinal));

    /// <summary>Skips the test unless the device is there and the module can be reloaded.</summary>
    public static void Require()
    {
        Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");
        Assert.SkipWhen(Ko.Length == 0 || Regions.Length == 0,
            "module tests need MEMPHYS_KO and MEMPHYS_REGIONS (set by tests/vm/run-in-vm.sh)");
    }

    /// <summary>The harness's regions with <paramref name="type"/> (wb, wc, uc) appended to each.</summary>
    public static string RegionsOfType(string type) => string.Join(',', Regions.Split(',').Select(r => $"{r}:{type}"));

    /// <summary>
    /// Runs <paramref name="test"/> with the harness's regions loaded as <paramref name="type"/> (wb, wc, uc or pages)
    /// and puts the module back afterwards; wb is how the harness loads them, so it runs without a reload.
    /// </summary>
    public static void WithRegionsOfType(string type, Action test)
    {
        Require();
        if (type == "wb")
        {
            test();
            return;
        }

        WithRegions(RegionsOfType(type), test);
    }

    /// <summary>
    /// Runs <paramref name="test"/> with memphys loaded as <c>regions=</c><paramref name="regions"/> and puts the module
    /// back afterwards.
    /// </summary>
    public static void WithRegions(string regions, Action test)
    {
        Require();
        try
        {
            Reload($"regions={regions}");
            test();
        }
        finally
        {
            Restore();
        }
    }

    /// <summary>
    /// Runs <paramref name="test"/> with the harness's regions loaded with the pages option, in 4 KiB folios
    /// (<c>:pages:folio=4K</c>) where the default ones take no 4 KiB entries: from 6.15 a pages mapping takes entries of
    /// its region's folio size only, and the default folio is the largest the region's alignment allows. The driver's
    /// sysfs <c>pages</c> says which; for cases that map small ranges (a few pages, a DMA window).
    /// </summary>
    public static void WithPages4K(Action test) => WithRegionsOfType("pages", () =>
    {
        ReloadPages4KIfNeeded();
        test();
    });

    /// <summary>After a load with <c>:pages</c>: reloads with <c>:pages:folio=4K</c> if the region takes no 4 KiB entries.</summary>
    public static void ReloadPages4KIfNeeded()
    {
        string sizes = File.ReadAllText("/sys/class/misc/memphys0/pages").Trim();
        if (!sizes.StartsWith("none", StringComparison.Ordinal) && !sizes.Split(' ').Contains("4K"))
        {
            Reload($"regions={RegionsOfType("pages:folio=4K")}");
        }
    }

    /// <summary>Unloads memphys; the errno name (OK on success).</summary>
    public static string Unload()
    {
        // Finalizers of anything a failed test left open must not keep the module busy.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return Probe("delete-module", "memphys");
    }

    /// <summary>Loads memphys with <paramref name="parameters"/>; the errno name (OK on success).</summary>
    public static string Load(string parameters) => Probe("finit-module", Ko, parameters);

    /// <summary>Unloads and loads again with <paramref name="parameters"/>, asserting both work.</summary>
    public static void Reload(string parameters)
    {
        if (Loaded)
        {
            Assert.Equal("OK", Unload());
        }

        Assert.Equal("OK", Load(parameters));
    }

    /// <summary>Puts the module back as the harness loaded it, whatever a test did.</summary>
    public static void Restore()
    {
        if (Loaded)
        {
            Assert.Equal("OK", Unload());
        }

        Assert.Equal("OK", Load($"regions={Regions}"));
        Assert.True(File.Exists(DeviceEnvironment.DevicePath), $"{DeviceEnvironment.DevicePath} missing after reload");
    }

    /// <summary>The kernel log lines written since <paramref name="linesBefore"/> lines (see <see cref="KernelLogLines"/>).</summary>
    public static string[] KernelLogSince(int linesBefore) => KernelLog().Skip(linesBefore).ToArray();

    /// <summary>How many lines the kernel log has now.</summary>
    public static int KernelLogLines() => KernelLog().Length;

    private static string[] KernelLog() => Run("dmesg").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
