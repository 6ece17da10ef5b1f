using Memphys.Cli;
using Memphys.Dma;
using Memphys.Pci;
using Memphys.Vfio;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// A device reads and writes the region through an IOMMU, driven from C# through VFIO: QEMU's edu device behind
/// intel-iommu, bound to vfio-pci, is given IOVAs that <c>VFIO_IOMMU_MAP_DMA</c> maps to a memphys mapping of each
/// method. The remap and fault methods' mappings are VM_PFNMAP areas, which type1 resolves to the region's frames
/// without pinning struct pages; the pages method's are ZONE_DEVICE pages, which type1 pins like any memory. Each
/// row appends what VFIO did to MEMPHYS_OUT/vfio-results.txt. Run by the VFIO stage of tests/run-tests.sh, in a
/// guest of its own (<c>-trait Category=DeviceVfio</c>).
/// </summary>
[Trait(DeviceEnvironment.Category, VfioSupport.Category)]
[Collection(DeviceCollection.Name)]
public sealed class VfioDmaTests
{
    /// <summary>The IOVA the tests give their mapping: any address the IOMMU can translate, far from the region's own.</summary>
    private const ulong Iova = 0x4000_0000;

    /// <summary>A second IOVA, mapped for device writes only.</summary>
    private const ulong WriteOnlyIova = 0x8000_0000;

    /// <summary>The mapping: 2 MiB from the middle of the region.</summary>
    private const long WindowLength = 2L << 20;

    private const int Count = EduDevice.MaxTransfer;

    public static TheoryData<MappingMethod> Methods => new(MappingMethod.Remap, MappingMethod.Fault, MappingMethod.Pages);

    /// <summary>Runs <paramref name="test"/> with a device whose files use <paramref name="method"/>; for pages, the region reloaded with <c>:pages</c>.</summary>
    private static void WithMethod(MappingMethod method, Action<MemphysDevice> test)
    {
        ModuleReload.Require();
        bool reload = method == MappingMethod.Pages;
        try
        {
            if (reload)
            {
                ModuleReload.Reload($"regions={ModuleReload.RegionsOfType("pages")}");
                ModuleReload.ReloadPages4KIfNeeded(); // small DMA windows: 4 KiB entries (6.15+: 4 KiB folios)
            }

            using MemphysDevice dev = OpenWith(method);
            test(dev);
        }
        finally
        {
            if (reload)
            {
                ModuleReload.Restore();
            }
        }
    }

    private static MemphysMapping MapWindow(MemphysDevice dev, ulong seed)
    {
        MemphysInfo info = dev.GetInfo();
        long offset = (long)info.RegionSize / 2 / WindowLength * WindowLength;
        MemphysMapping map = dev.Map(offset, WindowLength);
        new Random((int)seed).NextBytes(map.AsSpan());
        return map;
    }

    [DeviceFact]
    public void TheContainerGroupAndDeviceDescribeEdu()
    {
        (VfioPciDevice vfio, MmioWindow bar, EduDevice _) = VfioSupport.OpenEdu();
        using (vfio)
        using (bar)
        {
            Assert.Equal(VfioIommuType.Type1v2, vfio.Container.IommuType);
            Assert.True(vfio.Container.Supports(VfioIommuType.Type1));
            VfioGroupFlags status = vfio.Group.GetStatus();
            Assert.Equal(VfioGroupFlags.Viable | VfioGroupFlags.ContainerSet, status);
            VfioDeviceInfo info = vfio.Device.GetInfo();
            Assert.True((info.Flags & VfioDeviceFlags.Pci) != 0, $"flags {info.Flags}");
            Assert.True(info.RegionCount >= 8, $"{info.RegionCount} regions");
            VfioRegionInfo bar0 = vfio.Device.GetRegionInfo(0);
            Assert.Equal(1UL << 20, bar0.Size);
            Assert.Equal(VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap, bar0.Flags & (VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap));
            Assert.Equal(VfioRegionFlags.None, vfio.Device.GetRegionInfo(1).Flags);
            Assert.Equal(EduDevice.Identification, bar.Read32(0));
            MemphysArgumentException e = Assert.Throws<MemphysArgumentException>(() => vfio.Device.GetRegionInfo(info.RegionCount));
            Assert.Equal(Native.Interop.Errors.EINVAL, ((IMemphysError)e).Errno);
            int reset = ErrnoOf(vfio.Device.Reset);
            VfioSupport.Record($"device {vfio.Address} group {vfio.Group.Number} flags {info.Flags} regions {info.RegionCount} irqs {info.IrqCount}; reset {(reset == 0 ? "OK" : Native.Interop.Errors.Name(reset))}");
            Assert.Equal((info.Flags & VfioDeviceFlags.Reset) != 0, reset == 0);
        }
    }

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void TheDeviceCopiesThroughAnIovaOfEachMethod(MappingMethod method)
    {
        WithMethod(method, dev =>
        {
            (VfioPciDevice vfio, MmioWindow bar, EduDevice edu) = VfioSupport.OpenEdu();
            using (vfio)
            using (bar)
            using (MemphysMapping map = MapWindow(dev, 0x1f10))
            {
                long lockedBefore = VfioSupport.LockedBytes();
                VfioRoundTripResult result;
                long locked;
                using (VfioDmaMapping probe = vfio.Container.MapDma(map, Iova))
                {
                    locked = VfioSupport.LockedBytes() - lockedBefore;
                }

                result = VfioRoundTrip.Run(vfio.Container, edu, map, Iova, 0x1f10);
                VfioSupport.Record($"{method.ToString().ToLowerInvariant()}: MAP_DMA accepted 0x{WindowLength:x} bytes at IOVA 0x{Iova:x}; " +
                    $"locked memory +{locked} bytes ({(locked == 0 ? "not pinned" : "pinned")}); {result.Transfers} transfers, {result.BytesMoved} bytes moved, " +
                    $"{result.BytesChecked} bytes checked, {result.Mismatches} differ");
                Assert.True(result.Passed, $"{result.Mismatches} bytes differ, the first at mapping offset {result.FirstMismatch}");
                Assert.Equal(3, result.Transfers);
                Assert.Equal(WindowLength, result.BytesChecked);

                // type1 charges the pages it pins to the process's locked memory; VM_PFNMAP frames it only looks up.
                Assert.Equal(method == MappingMethod.Pages ? WindowLength : 0, locked);
                Assert.Equal(lockedBefore, VfioSupport.LockedBytes());
            }
        });
    }

    [DeviceFact]
    public void AnAddressTheIommuDoesNotMapIsBlockedAndReported()
    {
        WithMethod(MappingMethod.Remap, dev =>
        {
            (VfioPciDevice vfio, MmioWindow bar, EduDevice edu) = VfioSupport.OpenEdu();
            using (vfio)
            using (bar)
            using (MemphysMapping map = MapWindow(dev, 0xb10c))
            using (VfioDmaMapping dma = vfio.Container.MapDma(map, Iova))
            using (VfioDmaMapping writeOnly = vfio.Container.MapDma(map, WriteOnlyIova, VfioDmaAccess.DeviceWrites))
            {
                byte[] before = map.AsSpan().ToArray();
                ulong physical = dev.GetInfo().PhysicalBase + (ulong)map.RegionOffset;
                int log = ModuleReload.KernelLogLines();

                // Without an IOMMU the region's physical address is its bus address: this write would land in the
                // middle of the mapping. Through the IOMMU, where only the IOVAs are mapped, it must not.
                ulong target = physical + WindowLength / 2;
                edu.CopyToDevice(dma.IovaOf(0), 0, Count);
                VfioSupport.ExpectFault(target);
                edu.CopyFromDevice(0, target, Count);
                string? writeFault = VfioSupport.WaitForFault(log, target);
                int changed = before.Zip(map.AsSpan().ToArray()).Count(p => p.First != p.Second);

                // A read where the device may only write: recorded, not asserted, as QEMU 7.2's intel-iommu and the
                // guest kernels disagree (7.2 guests: blocked and reported; 6.1 and 6.12: the device read the bytes).
                edu.CopyToDevice(dma.IovaOf(2 * (ulong)Page), 0, Count);
                VfioSupport.ExpectFault(writeOnly.Iova);
                edu.CopyToDevice(writeOnly.Iova, 0, Count);
                string? readFault = VfioSupport.WaitForFault(log, writeOnly.Iova);
                long landing = WindowLength - 2 * Page;
                edu.CopyFromDevice(0, dma.IovaOf((ulong)landing), Count);
                byte[] landed = map.GetSpan(landing, Count).ToArray();
                string buffer = landed.AsSpan().SequenceEqual(before.AsSpan(2 * (int)Page, Count)) ? "kept its earlier bytes"
                    : landed.All(b => b == 0) ? "read zeros" : landed.AsSpan().SequenceEqual(before.AsSpan(0, Count)) ? "READ THE MAPPING" : $"holds other bytes {Convert.ToHexString(landed.AsSpan(0, 16))} (page 2 {Convert.ToHexString(before.AsSpan(2 * (int)Page, 16))})";

                VfioSupport.Record($"blocked: write to unmapped 0x{target:x} (the region's physical address): {changed} bytes of the mapping changed; " +
                    $"kernel: {writeFault?.Trim() ?? "no report"}");
                VfioSupport.Record($"blocked: read of write-only IOVA 0x{writeOnly.Iova:x}: the device buffer {buffer}; kernel: {readFault?.Trim() ?? "no report"}");
                Assert.Equal(0, changed);
                Assert.NotNull(writeFault);
            }
        });
    }

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void TheModuleUnloadsOnceTheIovaIsUnmapped(MappingMethod method)
    {
        ModuleReload.Require();
        string name = method.ToString().ToLowerInvariant();
        try
        {
            if (method == MappingMethod.Pages)
            {
                ModuleReload.Reload($"regions={ModuleReload.RegionsOfType("pages")}");
                ModuleReload.ReloadPages4KIfNeeded(); // small DMA windows: 4 KiB entries (6.15+: 4 KiB folios)
            }

            (VfioPciDevice vfio, MmioWindow bar, EduDevice edu) = VfioSupport.OpenEdu();
            using (vfio)
            using (bar)
            {
                VfioDmaMapping dma;
                using (MemphysDevice dev = OpenWith(method))
                using (MemphysMapping map = MapWindow(dev, 0x7e1))
                {
                    // The raw form: nothing but VFIO itself keeps the memory once the process unmaps it.
                    dma = vfio.Container.MapDma(map.BaseAddress, (ulong)map.Length, Iova);
                    edu.CopyToDevice(dma.IovaOf(0), 0, Count);
                    edu.CopyFromDevice(0, dma.IovaOf(Page), Count);
                    Assert.True(map.GetSpan(0, Count).SequenceEqual(map.GetSpan(Page, Count)));
                }

                GC.Collect();
                GC.WaitForPendingFinalizers();
                string whileMapped = UnloadWithin(TimeSpan.FromSeconds(2));
                ulong unmapped = dma.Unmap();
                string after = ModuleReload.Loaded ? UnloadWithin(TimeSpan.FromSeconds(10)) : "already unloaded";
                VfioSupport.Record($"{name}: rmmod with the IOVA mapped, memphys unmapped and closed: {whileMapped}; UNMAP_DMA {unmapped} bytes; then rmmod: {after}");
                Assert.Equal((ulong)WindowLength, unmapped);

                // type1 holds nothing on VM_PFNMAP frames: the module unloads while the device still reaches the
                // region at the IOVA. The pages method's pins hold it until UNMAP_DMA releases them.
                Assert.Equal(method == MappingMethod.Pages ? "EAGAIN" : "OK", whileMapped);
                Assert.Equal(method == MappingMethod.Pages ? "OK" : "already unloaded", after);
            }
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    [DeviceFact]
    public void DmaCheckRunsTheRoundTripAndRefusesWhatItCannotDrive()
    {
        string edu = VfioSupport.BindEdu();
        (int code, string output, string error) = CliRunner.Run(["dma-check", "--vfio", edu, "--json"]);
        Assert.True(code == 0, $"dma-check exited {code}: {error}{output}");
        Assert.Contains("\"passed\": true", output, StringComparison.Ordinal);
        Assert.Contains("\"bytesChecked\": 2097152", output, StringComparison.Ordinal);

        (code, _, error) = CliRunner.Run(["dma-check", "--vfio", "0000:00:00.0"]);
        Assert.True(code == ExitCodes.DeviceUnavailable, $"exit {code}: {error}");
        Assert.Contains("is not edu-compatible", error, StringComparison.Ordinal);
        CliRunner.AssertOneLineError(error);

        File.WriteAllText($"/sys/bus/pci/devices/{edu}/driver/unbind", edu);
        try
        {
            (code, _, error) = CliRunner.Run(["dma-check", "--vfio", edu]);
            Assert.True(code == ExitCodes.DeviceUnavailable, $"exit {code}: {error}");
            Assert.Contains("is bound to no driver, not vfio-pci", error, StringComparison.Ordinal);
            CliRunner.AssertOneLineError(error);
        }
        finally
        {
            VfioSupport.BindEdu();
        }
    }

    /// <summary>rmmod, retried while it answers EAGAIN for up to <paramref name="limit"/>: the pages method releases the module from a work item.</summary>
    private static string UnloadWithin(TimeSpan limit)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string result;
        while ((result = ModuleReload.Unload()) == "EAGAIN" && clock.Elapsed < limit)
        {
            Thread.Sleep(100);
        }

        return result;
    }
}
