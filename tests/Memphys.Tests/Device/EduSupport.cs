using Memphys.Dma;
using Memphys.Pci;

namespace Memphys.Tests.Device;

/// <summary>
/// The guest's edu device (QEMU <c>-device edu</c>) for the DMA tests. The device suite's guest is started with it
/// (tests/run-tests.sh stage_guest_tests), so a guest without it fails these tests instead of skipping them; on
/// the host they skip with the other device tests.
/// </summary>
internal static class EduSupport
{
    /// <summary>
    /// The QEMU option the guest needs: edu's default DMA mask is 28 bits and silently clamps every bus address
    /// to it, which would send a transfer meant for a region above 4 GiB to low memory.
    /// </summary>
    public const string QemuDevice = "edu,dma_mask=0xffffffffffffffff";

    /// <summary>The guest's edu function, enabled and allowed to master the bus.</summary>
    public static PciFunction Function()
    {
        IReadOnlyList<PciFunction> found = PciFunction.Find(EduDevice.VendorId, EduDevice.DeviceId);
        Assert.True(found.Count > 0,
            $"no edu PCI function ({EduDevice.VendorId:x4}:{EduDevice.DeviceId:x4}) in {PciFunction.DevicesDirectory}: " +
            $"the device suite's guest must be started with --device {QemuDevice}");
        PciFunction function = found[0];
        function.Enable();
        ushort command = function.EnableBusMaster();
        Assert.True((command & 0x6) == 0x6, $"{function}: command register 0x{command:x4} lacks memory space or bus master");
        return function;
    }
}
