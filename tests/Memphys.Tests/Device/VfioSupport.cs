using System.Globalization;
using Memphys.Dma;
using Memphys.Pci;
using Memphys.Vfio;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// The VFIO guest's edu device (QEMU <c>-machine q35 -device intel-iommu -device edu,...</c>, guest
/// <c>intel_iommu=on</c>; tests/run-tests.sh) bound to vfio-pci, and the kernel log's DMAR fault reports. Every
/// DMAR fault a test provokes on purpose is listed in MEMPHYS_OUT/dmar-expected.txt, which the harness's kernel log
/// scan (tests/vm/lib.sh) allows; any other DMAR fault fails the guest run.
/// </summary>
internal static class VfioSupport
{
    /// <summary>The trait value of the VFIO tests: <c>-trait Category=DeviceVfio</c>.</summary>
    public const string Category = "DeviceVfio";

    /// <summary>The QEMU options the guest needs, besides <c>intel_iommu=on</c> on its kernel command line.</summary>
    public const string QemuDevices = "intel-iommu edu,dma_mask=0xffffffffffffffff";

    private const string ExpectedFaultsFile = "dmar-expected.txt";

    /// <summary>Loads vfio-pci and type1 from the guest kernel's modules, binds edu to vfio-pci; its PCI address.</summary>
    public static string BindEdu()
    {
        LoadModules();
        IReadOnlyList<PciFunction> found = PciFunction.Find(EduDevice.VendorId, EduDevice.DeviceId);
        Assert.True(found.Count > 0, $"no edu PCI function: the VFIO guest must be started with {QemuDevices}");
        PciFunction edu = found[0];
        Assert.True(edu.IommuGroup is not null, $"{edu} is in no IOMMU group: the VFIO guest needs intel-iommu and intel_iommu=on");
        if (edu.Driver != VfioPciDevice.VfioPciDriver)
        {
            File.WriteAllText(Path.Combine(edu.SysfsPath, "driver_override"), VfioPciDevice.VfioPciDriver);
            if (edu.Driver is not null)
            {
                File.WriteAllText(Path.Combine(edu.SysfsPath, "driver", "unbind"), edu.Address);
            }

            File.WriteAllText("/sys/bus/pci/drivers_probe", edu.Address);
        }

        Assert.Equal(VfioPciDevice.VfioPciDriver, edu.Driver);
        return edu.Address;
    }

    /// <summary>Opens the bound edu through VFIO with bus mastering on, and the edu driver over its mapped BAR0.</summary>
    public static (VfioPciDevice Vfio, MmioWindow Bar, EduDevice Edu) OpenEdu()
    {
        VfioPciDevice vfio = VfioPciDevice.Open(BindEdu());
        MmioWindow bar = vfio.Device.MapRegion(0);
        vfio.Device.EnableBusMaster();
        return (vfio, bar, new EduDevice(bar));
    }

    /// <summary>Records that a test is about to make the device fault at <paramref name="iova"/> on purpose.</summary>
    public static void ExpectFault(ulong iova)
    {
        string? dir = Environment.GetEnvironmentVariable("MEMPHYS_OUT");
        Assert.True(dir is not null, "MEMPHYS_OUT is unset: the guest harness must say where the expected DMAR faults go");
        File.AppendAllText(Path.Combine(dir, ExpectedFaultsFile), $"fault addr 0x{iova:x}{Environment.NewLine}");
    }

    /// <summary>
    /// The kernel log's DMAR fault report of <paramref name="iova"/> written after <paramref name="linesBefore"/>
    /// lines; the IOMMU's fault interrupt is handled asynchronously, so this waits for it up to 10 s.
    /// </summary>
    public static string? WaitForFault(int linesBefore, ulong iova)
    {
        string needle = $"fault addr 0x{iova:x} ";
        for (int i = 0; i < 100; i++)
        {
            string? line = ModuleReload.KernelLogSince(linesBefore).FirstOrDefault(l => l.Contains("DMAR", StringComparison.Ordinal)
                && l.Contains(needle, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            Thread.Sleep(100);
        }

        return null;
    }

    /// <summary>The process's locked memory (<c>VmLck</c>, bytes): what VFIO's type1 charges for the pages it pins.</summary>
    public static long LockedBytes()
    {
        string line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmLck:", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>Appends <paramref name="line"/> to MEMPHYS_OUT/vfio-results.txt (the stage's record of what VFIO did).</summary>
    public static void Record(string line)
    {
        string? dir = Environment.GetEnvironmentVariable("MEMPHYS_OUT");
        if (dir is not null)
        {
            File.AppendAllText(Path.Combine(dir, "vfio-results.txt"),
                $"{File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} {line}{Environment.NewLine}");
        }
    }

    private static void LoadModules()
    {
        if (File.Exists(VfioContainer.DefaultPath) && File.ReadLines("/proc/modules").Any(l => l.StartsWith("vfio_pci ", StringComparison.Ordinal)))
        {
            return;
        }

        string modules = Environment.GetEnvironmentVariable("MEMPHYS_KERNEL_MODULES") ?? "";
        int cut = modules.IndexOf("/lib/modules/", StringComparison.Ordinal);
        Assert.True(cut > 0, "MEMPHYS_KERNEL_MODULES (set by tests/vm/run-in-vm.sh) must name the guest kernel's module tree");
        // An empty configuration folder: the host's modprobe.d has nothing to say about the guest kernel.
        string config = Directory.CreateTempSubdirectory("memphys-modprobe-").FullName;
        (int exit, string output) = Run("modprobe", "-d", modules[..cut], "-C", config, "-a", "vfio-pci", "vfio_iommu_type1");
        Assert.True(exit == 0, $"modprobe vfio-pci vfio_iommu_type1 exited {exit}: {output}");
    }

}
