using System.Globalization;
using Memphys.Cli;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// What memphys accepts and what tools expect of it: only RAM the administrator reserved with memmap= (never a
/// range the firmware keeps), load errors that suggest the right memmap= form, /proc/PID/mem access to mappings
/// (as gdb and ptrace use it), and sysfs attributes with the right modes.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class RegionPolicyTests
{
    private const string SysfsDir = "/sys/class/misc/memphys0";

    /// <summary>
    /// The first whole page of a /sys/firmware/memmap entry above 1 MiB that is not System RAM (on a q35 guest the
    /// "Reserved" range below 2 GiB that holds the ACPI tables); the legacy area below 1 MiB is left alone. From 6.19,
    /// where the kernel's firmware e820 table is KVM's, the driver reads this same directory (driver/memphys_region.c),
    /// so a firmware "Reserved" range is refused on 7.x as on 6.x.
    /// </summary>
    private static (ulong Page, string Type) FirmwareReservedPage()
    {
        Assert.SkipUnless(Directory.Exists("/sys/firmware/memmap"),
            "no firmware memory map (/sys/firmware/memmap): an x86 table; on arm64 the device tree describes RAM");
        foreach (string entry in Directory.GetDirectories("/sys/firmware/memmap").OrderBy(d => d, StringComparer.Ordinal))
        {
            string type = File.ReadAllText(Path.Combine(entry, "type")).Trim();
            ulong start = ParseHex(File.ReadAllText(Path.Combine(entry, "start")));
            ulong end = ParseHex(File.ReadAllText(Path.Combine(entry, "end")));
            ulong page = (start + (ulong)Page - 1) & ~((ulong)Page - 1);
            if (type != "System RAM" && start >= 1UL << 20 && page + (ulong)Page - 1 <= end)
            {
                return (page, type);
            }
        }

        Assert.Skip("the firmware memory map (/sys/firmware/memmap) has no reserved range of a whole page above 1 MiB");
        return default;
    }

    private static ulong ParseHex(string text) =>
        ulong.Parse(text.Trim().Replace("0x", "", StringComparison.Ordinal), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    [DeviceFact]
    public void ARangeTheFirmwareKeepsIsRefusedWithEpermAndTheReason()
    {
        ModuleReload.Require();
        (ulong page, string type) = FirmwareReservedPage();
        try
        {
            Assert.Equal("OK", ModuleReload.Unload());
            int logLines = ModuleReload.KernelLogLines();
            Assert.Equal("EPERM", ModuleReload.Load($"regions=4K@0x{page:x}"));
            Assert.False(ModuleReload.Loaded, $"memphys loaded on firmware range {type} at 0x{page:x}");
            Assert.Contains(ModuleReload.KernelLogSince(logLines),
                l => l.Contains($"the firmware keeps part of it for itself (\"{type}\" in /sys/firmware/memmap", StringComparison.Ordinal));
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    /// <summary>
    /// <c>memphys memmap --check</c> tells before a reboot what the driver decides at load by the firmware map: the
    /// loaded regions are accepted, the firmware's own range is refused with its type, as the load above refuses it.
    /// </summary>
    [DeviceFact]
    public void MemmapCheckAgreesWithTheDriverOnTheFirmwareMap()
    {
        ModuleReload.Require();
        (ulong page, string type) = FirmwareReservedPage();

        (int code, string stdout, string stderr) = CliRunner.Run(["memmap", "--check"]);
        Assert.True(code == ExitCodes.Ok, $"memmap --check of the loaded regions: exit {code}: {stdout}{stderr}");
        int loaded = Directory.GetDirectories("/sys/class/misc", "memphys*").Length;
        Assert.Equal(loaded, stdout.Split('\n').Count(l => l.Contains("accepted: System RAM in the firmware map", StringComparison.Ordinal)));

        (code, stdout, _) = CliRunner.Run(["memmap", "--check", $"4K@0x{page:x}"]);
        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains($"refused: the firmware keeps 0x", stdout);
        Assert.Contains($"(\"{type}\")", stdout);
    }

    [DeviceFact]
    public void ALoadErrorSuggestsTheDollarFormOfMemmap()
    {
        ModuleReload.Require();
        string region = GuestPlatform.SystemRamRegion();
        try
        {
            Assert.Equal("OK", ModuleReload.Unload());
            int logLines = ModuleReload.KernelLogLines();
            Assert.Equal("EBUSY", ModuleReload.Load($"regions={region}"));
            string[] log = ModuleReload.KernelLogSince(logLines);
            if (GuestPlatform.IsArm64)
            {
                // arm64 has no memmap=: the way to reserve RAM there is the device tree (or mem=).
                Assert.Contains(log, l => l.Contains("reserve it with a no-map /reserved-memory node", StringComparison.Ordinal));
                Assert.DoesNotContain(log, l => l.Contains("memmap=", StringComparison.Ordinal));
                return;
            }

            Assert.Contains(log, l => l.Contains($"reserve it with memmap={region.Replace('@', '$')}", StringComparison.Ordinal));
            Assert.DoesNotContain(log, l => l.Contains($"memmap={region}", StringComparison.Ordinal));
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    public static TheoryData<MappingMethod> Methods => new(MappingMethod.Remap, MappingMethod.Fault);

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void ProcSelfMemReadsAndWritesAMappingLikeGdb(MappingMethod method)
    {
        Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");
        using MemphysDevice dev = OpenWith(method);
        using MemphysMapping map = dev.Map(3 * Page, 4 * Page);
        // The fault method's pages must be present: the kernel cannot fault a VM_PFNMAP page in for
        // /proc/PID/mem (get_user_pages refuses such areas), it reads what the entry maps.
        ulong* word = PageWord(map, 2);
        *word = 0x0123456789abcdefUL;

        using var mem = new FileStream("/proc/self/mem", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
        long address = (long)(nint)word;
        var buffer = new byte[8];
        Assert.Equal(8, RandomAccess.Read(mem.SafeFileHandle, buffer, address));
        Assert.Equal(0x0123456789abcdefUL, BitConverter.ToUInt64(buffer));

        RandomAccess.Write(mem.SafeFileHandle, BitConverter.GetBytes(0xfeedfacecafebeefUL), address);
        Assert.Equal(0xfeedfacecafebeefUL, *word);
        var viaRead = new byte[8];
        dev.Read(5 * Page, viaRead);
        Assert.Equal(0xfeedfacecafebeefUL, BitConverter.ToUInt64(viaRead));
    }

    public static TheoryData<CachingMode> Types => new(CachingMode.WriteBack, CachingMode.WriteCombining, CachingMode.Uncached);

    /// <summary>
    /// gdb on a MAP_PRIVATE remap mapping: a write copies the page into anonymous RAM, which the kernel's
    /// generic_access_phys() tried to ioremap ("ioremap on RAM" WARNING, the read failed). memphys's .access reads
    /// and writes the copy as a page and an untouched page through the region's mapping of its type; writing the
    /// copy through /proc/self/mem leaves the region alone. The harness fails the stage on any kernel WARNING.
    /// </summary>
    [DeviceTheory]
    [MemberData(nameof(Types))]
    public void ProcSelfMemReadsCopiedAndUntouchedPagesOfAPrivateRemapMapping(CachingMode mode) =>
        ModuleReload.WithRegionsOfType(mode.ParameterName(), () =>
        {
            const long offset = 7 * Page;
            using MemphysDevice dev = OpenWith(MappingMethod.Remap);
            ulong basePfn = BasePfn(dev.GetInfo());
            dev.Write(offset, BitConverter.GetBytes(0x1111111111111111UL));
            dev.Write(offset + Page, BitConverter.GetBytes(0x2222222222222222UL));
            using MemphysMapping map = dev.Map(offset, 2 * Page, isPrivate: true);
            ulong* copied = PageWord(map, 0);
            ulong* untouched = PageWord(map, 1);
            *copied = 0x0123456789abcdefUL;
            Assert.NotEqual(basePfn + 7, dev.QueryPage((nint)copied).Pfn);
            Assert.Equal(basePfn + 8, dev.QueryPage((nint)untouched).Pfn);

            using var mem = new FileStream("/proc/self/mem", FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
            var buffer = new byte[8];
            Assert.Equal(8, RandomAccess.Read(mem.SafeFileHandle, buffer, (long)(nint)copied));
            Assert.Equal(0x0123456789abcdefUL, BitConverter.ToUInt64(buffer));
            Assert.Equal(8, RandomAccess.Read(mem.SafeFileHandle, buffer, (long)(nint)untouched));
            Assert.Equal(0x2222222222222222UL, BitConverter.ToUInt64(buffer));

            RandomAccess.Write(mem.SafeFileHandle, BitConverter.GetBytes(0xfeedfacecafebeefUL), (long)(nint)copied);
            Assert.Equal(0xfeedfacecafebeefUL, *copied);
            dev.Read(offset, buffer);
            Assert.Equal(0x1111111111111111UL, BitConverter.ToUInt64(buffer));
        });

    [DeviceFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void PhysBaseIsForRootOnlyAndCachingShowsTheRegionsType()
    {
        Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(Path.Combine(SysfsDir, "phys_base")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(Path.Combine(SysfsDir, "caching")));
        using MemphysDevice dev = DeviceEnvironment.Open();
        Assert.Equal(dev.GetInfo().Caching.ParameterName(), File.ReadAllText(Path.Combine(SysfsDir, "caching")).Trim());
    }
}
