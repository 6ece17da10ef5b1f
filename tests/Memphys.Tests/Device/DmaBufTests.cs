using System.Globalization;
using Memphys.Cli;
using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// dma-buf export (MEMPHYS_IOC_EXPORT_DMABUF) imported by a real V4L2 driver: vivid, loaded with one capture
/// device on vb2_vmalloc (which only vmaps the dma-buf) and one on vb2_dma_contig (which attaches, maps the sg
/// table for its 32-bit platform device and needs it contiguous: a region below 4 GiB, which the device stage
/// reserves with memmap=). Frames streamed into exported buffers are read back through /dev/memphysN and compared
/// with a frame captured into vivid's own MMAP buffers (memphys-probe vivid-dmabuf); the dma-buf's own mmap() under
/// DMA_BUF_IOCTL_SYNC, rmmod while exports live, and every refused request are checked too.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class DmaBufTests
{
    private const ulong FourGiB = 1UL << 32;
    private const int AccessAndCloexec = 3 | Interop.Libc.O_CLOEXEC;
    private const int Frames = 6;

    /// <summary>vivid's allocators= values, by the name of the vb2 allocator they select.</summary>
    private static readonly Dictionary<string, int> s_allocators = new() { ["vmalloc"] = 0, ["dma-contig"] = 1 };

    public static TheoryData<string, string> TypesAndAllocators => new()
    {
        { "wb", "vmalloc" },
        { "wb", "dma-contig" },
        { "wc", "vmalloc" },
        { "wc", "dma-contig" },
        { "uc", "vmalloc" },
        { "uc", "dma-contig" },
        { "pages", "vmalloc" },
        { "pages", "dma-contig" },
    };

    [DeviceTheory]
    [MemberData(nameof(TypesAndAllocators))]
    public void VividStreamsFramesIntoExportedRegionRam(string type, string allocator)
    {
        SkipWithoutVivid();
        ModuleReload.WithRegionsOfType(type, () =>
        {
            // dma-contig's device is masked to 32 bits: a region below 4 GiB; vmalloc takes the harness's region.
            string device = allocator == "dma-contig" ? LowRegionDevice() : DeviceEnvironment.DevicePath;
            string video = VividCaptureNode(allocator);
            MemphysInfo info;
            using (MemphysDevice dev = MemphysDevice.Open(device))
            {
                info = dev.GetInfo();
            }

            // A page-aligned offset that is not 0: the export's offset must reach the importer.
            const long offset = 1 << 20;
            string result = Probe("vivid-dmabuf", device, video, offset.ToString(CultureInfo.InvariantCulture),
                Frames.ToString(CultureInfo.InvariantCulture));
            Assert.StartsWith("OK ", result, StringComparison.Ordinal);
            Dictionary<string, long> values = result["OK ".Length..].Split(' ')
                .Select(kv => kv.Split('=')).ToDictionary(kv => kv[0], kv => long.Parse(kv[1], CultureInfo.InvariantCulture));
            Assert.Equal(Frames, values["frames"]);
            Assert.Equal(Frames * values["size"], values["bytes"]);
            Record(string.Create(CultureInfo.InvariantCulture,
                $"vivid allocator={allocator} type={type} pages={(info.PagesErrno == 0 ? "yes" : "no")} region=0x{info.PhysicalBase:x}+0x{info.RegionSize:x} " +
                $"frames={values["frames"]} frame_bytes={values["size"]} bytes_compared={values["bytes"]} dmabuf_mmap_bytes={values["dmabuf-mmap"]}"));
        });
    }

    [DeviceFact]
    public void DmaContigCannotAttachARegionAboveItsDmaMask()
    {
        SkipWithoutVivid();
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            MemphysInfo info = dev.GetInfo();
            Assert.SkipWhen(info.PhysicalBase + (ulong)info.RegionSize <= FourGiB, $"{DeviceEnvironment.DevicePath} lies below 4 GiB");
        }

        // The driver refuses the map (EIO, which vb2_dma_contig reports as EINVAL) instead of a mapping
        // dma_map_resource() would WARN about; vb2 cleans a failed map up, so nothing holds the module after.
        Assert.Equal("EINVAL at VIDIOC_QBUF DMABUF",
            Probe("vivid-dmabuf", DeviceEnvironment.DevicePath, VividCaptureNode("dma-contig"), "0", "1"));
        Assert.Equal("0", File.ReadAllText("/sys/module/memphys/refcnt").Trim());
    }

    [DeviceTheory]
    [InlineData("wb")]
    [InlineData("wc")]
    [InlineData("uc")]
    public void TheDmaBufsOwnMmapSeesTheRegionUnderSync(string type) => ModuleReload.WithRegionsOfType(type, () =>
    {
        string result = Probe("dmabuf-mmap", DeviceEnvironment.DevicePath, "0x200000", "0x10000");
        Assert.Equal($"OK bytes={2 * 0x10000} ro-write=EACCES", result);
    });

    [DeviceFact]
    public void ExportsCoexistAndHoldTheModuleUntilTheLastIsClosed()
    {
        ModuleReload.Require();
        try
        {
            SafeDmaBufHandle first, second;
            using (MemphysDevice dev = DeviceEnvironment.Open())
            {
                first = dev.ExportDmaBuf(0, 16 * Page);
                second = dev.ExportDmaBuf(8 * Page, 32 * Page, writable: false, closeOnExec: false);
            }

            // The memphys file is closed: only the dma-bufs hold the module now.
            DmaBufInfo a = first.ReadInfo(), b = second.ReadInfo();
            Assert.Equal((16 * Page, "memphys", Interop.Libc.O_RDWR | Interop.Libc.O_CLOEXEC),
                (a.Size, a.ExporterName, a.Flags & AccessAndCloexec));
            Assert.Equal((32 * Page, "memphys", Interop.Libc.O_RDONLY),
                (b.Size, b.ExporterName, b.Flags & AccessAndCloexec));
            Assert.NotEqual(a.Inode, b.Inode);
            Assert.Equal("EAGAIN", ModuleReload.Unload());
            first.Dispose();
            Assert.Equal("EAGAIN", ModuleReload.Unload());
            second.Dispose();
            Assert.Equal("OK", ModuleReload.Unload());
        }
        finally
        {
            ModuleReload.Restore();
        }
    }

    /// <summary>Refused requests through the typed API: offset, length, access; the errno of each.</summary>
    public static TheoryData<string, long, long, bool, bool, int> RefusedExports => new()
    {
        { "zero length", 0, 0, true, false, Interop.Errors.EINVAL },
        { "unaligned offset", 0x800, Page, true, false, Interop.Errors.EINVAL },
        { "unaligned length", 0, Page + 0x800, true, false, Interop.Errors.EINVAL },
        { "offset at the end", -1, Page, true, false, Interop.Errors.ERANGE },
        { "past the end", -2, 2 * Page, true, false, Interop.Errors.ERANGE },
        { "longer than the region", 0, -3, true, false, Interop.Errors.ERANGE },
        { "offset 2^63", long.MinValue, Page, true, false, Interop.Errors.ERANGE },
        { "O_RDWR from a read-only open", 0, Page, true, true, Interop.Errors.EACCES },
        { "O_RDONLY from a read-only open", 0, Page, false, true, 0 },
    };

    /// <summary>-1: the region's size; -2: its last page; -3: the region's size plus a page.</summary>
    [DeviceTheory]
    [MemberData(nameof(RefusedExports))]
    public void ABadExportGetsItsErrno(string what, long offset, long length, bool writable, bool readOnlyOpen, int errno)
    {
        using MemphysDevice dev = readOnlyOpen ? MemphysDevice.Open(DeviceEnvironment.DevicePath, readOnly: true) : DeviceEnvironment.Open();
        long size = (long)dev.GetInfo().RegionSize;
        offset = offset switch { -1 => size, -2 => size - Page, _ => offset };
        length = length == -3 ? size + Page : length;
        int got = ErrnoOf(() => dev.ExportDmaBuf(offset, length, writable).Dispose());
        Assert.True(got == errno, $"{what}: {Interop.Errors.Name(got)}, expected {Interop.Errors.Name(errno)}");
    }

    /// <summary>Flags and reserved through the raw ioctl: what the typed API cannot send.</summary>
    [DeviceTheory]
    [InlineData("O_WRONLY", 1u, 0ul, Interop.Errors.EINVAL)]
    [InlineData("O_ACCMODE", 3u, 0ul, Interop.Errors.EINVAL)]
    [InlineData("O_RDWR|O_NONBLOCK", 0x802u, 0ul, Interop.Errors.EINVAL)]
    [InlineData("O_RDWR|O_APPEND", 0x402u, 0ul, Interop.Errors.EINVAL)]
    [InlineData("reserved set", 2u, 1ul, Interop.Errors.EINVAL)]
    [InlineData("O_RDWR|O_CLOEXEC", 0x80002u, 0ul, 0)]
    public void RawFlagsAndReservedAreChecked(string what, uint flags, ulong reserved, int errno)
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        MemphysDmaBufExportNative request = new() { Offset = 0, Length = (ulong)Page, Flags = flags, Fd = -1, Reserved = reserved };
        int got = IoctlErrno(dev, Uapi.IocExportDmaBuf, &request);
        if (got == 0)
        {
            Interop.Libc.Close(request.Fd);
        }

        Assert.True(got == errno, $"{what}: {Interop.Errors.Name(got)}, expected {Interop.Errors.Name(errno)}");
    }

    [DeviceFact]
    public void TheCliShowsTheExportsFdinfo()
    {
        SkipUnlessDevice();
        (int code, string stdout, string stderr) = CliRunner.Run(["dmabuf", "--length", "64K", "--device", DeviceEnvironment.DevicePath]);
        Assert.True(code == 0, stderr);
        Assert.Contains("exporter (fdinfo)", stdout, StringComparison.Ordinal);
        Assert.Contains("memphys", stdout, StringComparison.Ordinal);
        Assert.Contains("64 KiB (65,536 bytes)", stdout, StringComparison.Ordinal);

        (code, _, stderr) = CliRunner.Run(["dmabuf", "--offset", "0x100000000000", "--length", "4K", "--device", DeviceEnvironment.DevicePath]);
        Assert.Equal(ExitCodes.OsError, code);
        Assert.Contains("(ERANGE)", stderr, StringComparison.Ordinal);
    }

    private static void SkipUnlessDevice() => Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");

    /// <summary>Appends <paramref name="line"/> to the test output and MEMPHYS_OUT/dmabuf-results.txt.</summary>
    private static void Record(string line)
    {
        line = $"dmabuf kernel={File.ReadAllText("/proc/sys/kernel/osrelease").Trim()} {line}";
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        if (Environment.GetEnvironmentVariable("MEMPHYS_OUT") is { Length: > 0 } dir)
        {
            File.AppendAllText(Path.Combine(dir, "dmabuf-results.txt"), line + "\n");
        }
    }

    /// <summary>
    /// A memphys node whose region lies wholly below 4 GiB, for vivid's 32-bit dma-contig device; the device stage's
    /// guest reserves one (tests/run-tests.sh DEVICE_MEMMAP).
    /// </summary>
    private static string LowRegionDevice()
    {
        foreach (string path in MemphysDevice.Enumerate())
        {
            using MemphysDevice dev = MemphysDevice.Open(path);
            MemphysInfo info = dev.GetInfo();
            if (info.PhysicalBase + (ulong)info.RegionSize <= FourGiB)
            {
                return path;
            }
        }

        Assert.Fail("no memphys region below 4 GiB for vivid's 32-bit dma-contig device: boot the guest with one, " +
            "e.g. tests/vm/run-in-vm.sh --memmap '1G$0x100000000,64M$0x30000000' (as the device stage does)");
        return "";
    }

    /// <summary>Skips on the host; in the guest loads vivid with both allocators unless it is loaded.</summary>
    private static void SkipWithoutVivid()
    {
        SkipUnlessDevice();
        // The streaming rows are the x86-64 guests' (6.1, 6.12, 7.2): there each type is the harness's regions
        // reloaded, and uc has a vmap. The arm64 guest's region below 4 GiB is its device-tree buffer, whose type a
        // reload does not change, and a uc export has no vmap there (Device memory), which vivid cannot fill.
        Assert.SkipWhen(GuestPlatform.IsArm64, "the vivid streaming cases run in the x86-64 guests only " +
            "(arm64: the region below 4 GiB is the device-tree buffer, and a uc export has no vmap)");
        if (Directory.Exists("/sys/module/vivid"))
        {
            return;
        }

        string modules = Environment.GetEnvironmentVariable("MEMPHYS_KERNEL_MODULES") ?? "";
        int cut = modules.IndexOf("/lib/modules/", StringComparison.Ordinal);
        Assert.True(cut > 0, "MEMPHYS_KERNEL_MODULES (set by tests/vm/run-in-vm.sh) must name the guest kernel's module tree");
        // An empty configuration folder: the host's modprobe.d has nothing to say about the guest kernel.
        string config = Directory.CreateTempSubdirectory("memphys-modprobe-").FullName;
        // One video capture node per instance (node_types bit 0): vmalloc first, dma-contig second.
        (int exit, string output) = Run("modprobe", "-d", modules[..cut], "-C", config, "vivid", "n_devs=2", "allocators=0,1",
            "node_types=0x1,0x1");
        Assert.True(exit == 0, $"modprobe vivid exited {exit}: {output}");
    }

    /// <summary>The /dev/videoN capture node of the vivid instance using <paramref name="allocator"/>.</summary>
    private static string VividCaptureNode(string allocator)
    {
        string name = $"vivid-{s_allocators[allocator]:000}-vid-cap";
        foreach (string dir in Directory.GetDirectories("/sys/class/video4linux"))
        {
            if (File.ReadAllText(Path.Combine(dir, "name")).Trim() == name)
            {
                return Path.Combine("/dev", Path.GetFileName(dir));
            }
        }

        Assert.Fail($"no {name} in /sys/class/video4linux");
        return "";
    }
}
