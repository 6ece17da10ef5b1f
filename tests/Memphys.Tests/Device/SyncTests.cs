using System.Text.Json.Nodes;
using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// MEMPHYS_IOC_SYNC, the cache maintenance around a device's DMA: what it reports for each memory type on this
/// architecture, that it leaves the data alone, and every errno. QEMU does not model caches, so whether the lines
/// really reached RAM cannot be observed here: the tests check the interface, never the effect of caching.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class SyncTests
{
    /// <summary>
    /// What the driver must answer for a regions= region of <paramref name="caching"/>: wc and uc are never cached;
    /// x86 DMA snoops the caches; on arm64 nothing says a device reaching a regions= range is coherent.
    /// </summary>
    private static SyncResult Expected(CachingMode caching) =>
        caching != CachingMode.WriteBack ? SyncResult.NotNeededUncached
        : GuestPlatform.IsArm64 ? SyncResult.Performed
        : SyncResult.NotNeededCoherentArchitecture;

    public static TheoryData<CachingMode> Types => new(Enum.GetValues<CachingMode>());

    /// <summary>Ranges of every shape: the whole region, a byte, unaligned both ends, across a 1 MiB chunk, the last byte.</summary>
    private static (ulong Offset, ulong Length)[] Ranges(ulong size) =>
    [
        (0, size), (0, 1), (1, 100), (4095, 2), ((1UL << 20) - 64, 128 + (1UL << 20)), (size - 1, 1),
    ];

    [DeviceTheory]
    [MemberData(nameof(Types))]
    public void ReportsWhatTheRegionNeeds(CachingMode caching) =>
        ModuleReload.WithRegionsOfType(caching.ParameterName(), () =>
        {
            using MemphysDevice dev = MemphysDevice.Open(DeviceEnvironment.DevicePath);
            MemphysInfo info = dev.GetInfo();
            Assert.Equal(caching, info.Caching);
            foreach ((ulong offset, ulong length) in Ranges((ulong)info.RegionSize))
            {
                foreach (SyncDirection direction in Enum.GetValues<SyncDirection>())
                {
                    Assert.Equal(Expected(caching), dev.Sync((long)offset, (long)length, direction));
                }
            }
        });

    [DeviceFact]
    public void LeavesTheDataAlone()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        const long length = 4 * Page;
        using MemphysMapping map = dev.Map(0, length);
        var written = new byte[length];
        new Random(24).NextBytes(written);
        written.CopyTo(map.GetSpan(0, (int)length));
        foreach (SyncDirection direction in Enum.GetValues<SyncDirection>())
        {
            dev.Sync(1, length - 2, direction);
            var read = new byte[length];
            Assert.Equal((int)length, dev.Read(0, read));
            Assert.Equal(written, read);
            Assert.True(written.AsSpan().SequenceEqual(map.GetSpan(0, (int)length)), $"the mapping changed after a {direction} sync");
        }
    }

    [DeviceFact]
    public void AReadOnlyFileMaySync()
    {
        using MemphysDevice dev = MemphysDevice.Open(DeviceEnvironment.DevicePath, readOnly: true);
        MemphysInfo info = dev.GetInfo();
        foreach (SyncDirection direction in Enum.GetValues<SyncDirection>())
        {
            Assert.Equal(Expected(info.Caching), dev.Sync(0, Page, direction));
        }
    }

    private static int Raw(MemphysDevice dev, ulong offset, ulong length, uint direction, uint flags = 0, uint reserved = 0)
    {
        MemphysSyncNative sync = new()
        {
            Offset = offset, Length = length, Direction = direction, Flags = flags, Reserved = reserved,
        };
        return IoctlErrno(dev, Uapi.IocSync, &sync);
    }

    /// <summary>The argument in a read-only page: the driver reads it, then cannot write the result back.</summary>
    private static int ResultIntoReadOnlyPage(MemphysDevice dev)
    {
        using MemphysMapping page = MemphysMapping.CreateAnonymous(Page, MapProtection.ReadWrite);
        *(MemphysSyncNative*)page.Pointer = new MemphysSyncNative { Length = 1, Direction = Uapi.SyncToDevice };
        Assert.Equal(0, MProtect(page.BaseAddress, Page, (int)MapProtection.Read));
        return IoctlErrno(dev, Uapi.IocSync, page.Pointer);
    }

    private static int OtherSize(MemphysDevice dev)
    {
        ulong arg = 0;
        return IoctlErrno(dev, Uapi.IoWR<ulong>(Uapi.IocMagic, 0x08), &arg);
    }

    private static readonly Dictionary<string, (int Errno, Func<MemphysDevice, ulong, int> Run)> Cases = new()
    {
        ["flags 1"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, 0, 1, Uapi.SyncToDevice, flags: 1)),
        ["flags 2^31"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, 0, 1, Uapi.SyncToDevice, flags: 1u << 31)),
        ["reserved non-zero"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, 0, 1, Uapi.SyncToDevice, reserved: 1)),
        ["direction 3"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, 0, 1, 3)),
        ["direction 2^32-1"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, 0, 1, uint.MaxValue)),
        ["length 0"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, 0, 0, Uapi.SyncBidirectional)),
        ["length 0 past the end"] = (Interop.Errors.EINVAL, (d, size) => Raw(d, size, 0, Uapi.SyncBidirectional)),
        ["offset at the end"] = (Interop.Errors.ERANGE, (d, size) => Raw(d, size, 1, Uapi.SyncBidirectional)),
        ["offset+length one byte past the end"] = (Interop.Errors.ERANGE, (d, size) => Raw(d, size - 100, 101, Uapi.SyncFromDevice)),
        ["length larger than the region"] = (Interop.Errors.ERANGE, (d, size) => Raw(d, 0, size + 1, Uapi.SyncToDevice)),
        ["offset+length wrapping past 2^64"] = (Interop.Errors.ERANGE, (d, size) => Raw(d, (ulong)Page, ulong.MaxValue, Uapi.SyncToDevice)),
        ["offset 2^64-1"] = (Interop.Errors.ERANGE, (d, size) => Raw(d, ulong.MaxValue, 1, Uapi.SyncToDevice)),
        ["argument NULL"] = (Interop.Errors.EFAULT, (d, size) => IoctlErrno(d, Uapi.IocSync, null)),
        ["result into a read-only page"] = (Interop.Errors.EFAULT, (d, size) => ResultIntoReadOnlyPage(d)),
        ["SYNC encoded with another size"] = (Interop.Errors.ENOTTY, (d, size) => OtherSize(d)),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [DeviceTheory]
    [MemberData(nameof(CaseNames))]
    public void IsRefusedWithItsErrno(string name)
    {
        using MemphysDevice dev = MemphysDevice.Open(DeviceEnvironment.DevicePath);
        (int errno, Func<MemphysDevice, ulong, int> run) = Cases[name];
        int got = run(dev, (ulong)dev.GetInfo().RegionSize);
        Assert.True(got == errno, $"{name}: expected {Interop.Errors.Name(errno)}, got {(got == 0 ? "success" : Interop.Errors.Name(got))}");
    }

    [DeviceFact]
    public void TheLibrarySaysWhyARangeIsRefused()
    {
        using MemphysDevice dev = MemphysDevice.Open(DeviceEnvironment.DevicePath);
        long size = dev.GetInfo().RegionSize;
        var past = Assert.Throws<MemphysArgumentException>(() => dev.Sync(size - 1, 2, SyncDirection.ToDevice));
        Assert.Equal(Interop.Errors.ERANGE, ((IMemphysError)past).Errno);
        Assert.Contains("not wholly inside the region", past.Message);
        var empty = Assert.Throws<MemphysArgumentException>(() => dev.Sync(0, 0, SyncDirection.FromDevice));
        Assert.Equal(Interop.Errors.EINVAL, ((IMemphysError)empty).Errno);
    }

    [DeviceFact]
    public void TheCliReportsTheResult()
    {
        using MemphysDevice dev = MemphysDevice.Open(DeviceEnvironment.DevicePath, readOnly: true);
        SyncResult expected = Expected(dev.GetInfo().Caching);
        (int code, string stdout, string stderr) = CliRunner.Run(
            ["sync", "--offset", "1", "--length", "100", "--direction", "to-device", "--json", "--device", DeviceEnvironment.DevicePath]);
        Assert.True(code == 0, stderr);
        JsonNode json = JsonNode.Parse(stdout)!;
        Assert.Equal(expected.ToString(), (string?)json["result"]);
        Assert.Equal(expected == SyncResult.Performed, (bool?)json["performed"]);
        Assert.Equal(100UL, (ulong?)json["length"]);

        (code, stdout, _) = CliRunner.Run(["sync", "--device", DeviceEnvironment.DevicePath]);
        Assert.Equal(0, code);
        Assert.Contains(expected.Describe(), stdout);

        (code, _, stderr) = CliRunner.Run(["sync", "--offset", "1G", "--length", "1", "--device", DeviceEnvironment.DevicePath]);
        Assert.Equal(Memphys.Cli.ExitCodes.OsError, code);
        Assert.Contains("ERANGE", stderr);
    }

    /// <summary>
    /// On arm64 every region of a memphys,region node answers by its node: maintained unless the node (or a bus above
    /// it) is dma-coherent, never for wc or uc. The tree is read from the running kernel.
    /// </summary>
    [DeviceFact]
    public void DeviceTreeRegionsFollowTheirNode()
    {
        Assert.SkipUnless(GuestPlatform.DeviceTreeHasRegion, "no memphys,region node in this machine's device tree (x86 guests have none)");
        int seen = 0;
        foreach (string sys in Directory.EnumerateDirectories("/sys/class/misc"))
        {
            string source = File.Exists(Path.Combine(sys, "source")) ? File.ReadAllText(Path.Combine(sys, "source")).Trim() : "";
            if (!source.StartsWith("devicetree ", StringComparison.Ordinal))
            {
                continue;
            }

            string node = source.Split(' ')[1];
            using MemphysDevice dev = MemphysDevice.Open("/dev/" + Path.GetFileName(sys), readOnly: true);
            CachingMode caching = dev.GetInfo().Caching;
            SyncResult expected = caching != CachingMode.WriteBack ? SyncResult.NotNeededUncached
                : GuestPlatform.DeviceTreeDmaCoherent(node) ? SyncResult.NotNeededCoherentDevice
                : SyncResult.Performed;
            Assert.Equal(expected, dev.Sync(0, Page, SyncDirection.Bidirectional));
            seen++;
        }

        Assert.True(seen > 0, "no region of /sys/class/misc names a device-tree source");
    }
}
