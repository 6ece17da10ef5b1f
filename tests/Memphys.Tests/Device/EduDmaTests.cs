using System.Globalization;
using Memphys.Dma;
using Memphys.Pci;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// A device reads and writes the region by DMA, without an IOMMU: QEMU's edu device is given the region's
/// physical addresses (on x86 without an IOMMU the bus address is the physical address) from user space (its
/// BAR0 mmapped through sysfs, bus mastering set through the config file). For every mapping method and memory
/// type, at the first, middle and last page of the region: a pattern stored through the mapping is copied by the
/// device into its buffer and back to another page, and read there through the mapping and read(); and a pattern
/// the device writes (loaded from a scratch page filled with write(), so it does not depend on the page checked)
/// is read where it landed through the mapping and read(). The byte after each transfer keeps its sentinel, so
/// the device wrote exactly what it was told. Each row appends its figures to MEMPHYS_OUT/dma-results.txt.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed class EduDmaTests
{
    /// <summary>Bytes per transfer: the most edu moves at once (see <see cref="EduDevice.MaxTransfer"/>).</summary>
    private const int Count = EduDevice.MaxTransfer;

    private const byte Sentinel = 0xa5;

    /// <summary>The page the device-side pattern is loaded from, and one the reachability check writes.</summary>
    private const long ScratchPage = 2;

    private const long ProbePage = 3;

    public static TheoryData<MappingMethod, CachingMode> MethodsAndTypes => new()
    {
        { MappingMethod.Remap, CachingMode.WriteBack },
        { MappingMethod.Remap, CachingMode.WriteCombining },
        { MappingMethod.Remap, CachingMode.Uncached },
        { MappingMethod.Fault, CachingMode.WriteBack },
        { MappingMethod.Fault, CachingMode.WriteCombining },
        { MappingMethod.Fault, CachingMode.Uncached },
        { MappingMethod.Pages, CachingMode.WriteBack }, // a :pages region is write-back
    };

    [DeviceFact]
    public void EduAnswersThroughItsSysfsBar()
    {
        PciFunction function = EduSupport.Function();
        using MmioWindow bar = function.MapResource(0);
        Assert.Equal(1L << 20, bar.Length);
        Assert.Equal(EduDevice.Identification, bar.Read32(0));
        var edu = new EduDevice(bar);
        Assert.False(edu.IsBusy);
    }

    [DeviceTheory]
    [MemberData(nameof(MethodsAndTypes))]
    public void DeviceAndMappingSeeTheSameBytes(MappingMethod method, CachingMode type)
    {
        if (method == MappingMethod.Pages)
        {
            ModuleReload.WithPages4K(() => RunRoundTrips(method, type)); // small buffers: 4 KiB entries
        }
        else
        {
            ModuleReload.WithRegionsOfType(type.ParameterName(), () => RunRoundTrips(method, type));
        }
    }

    private static void RunRoundTrips(MappingMethod method, CachingMode type)
    {
        PciFunction function = EduSupport.Function();
        using MmioWindow bar = function.MapResource(0);
        var edu = new EduDevice(bar);
        if (method == MappingMethod.Pages)
        {
            SkipWithoutZoneDevice();
        }

        using MemphysDevice dev = OpenWith(method);
        MemphysInfo info = dev.GetInfo();
        Assert.Equal(type, info.Caching);
        long pages = RegionPages(info);
        Assert.True(pages >= 8, $"the region has {pages} pages; the test needs 8");
        var run = new Tally(info, method, type);

        ProveTheDeviceReachesTheRegion(dev, edu, info, run);
        ulong seed = (ulong)(((int)method << 8) | (int)type) * 0x1000193;
        foreach ((string where, long page, long other) in new[]
        {
            ("first", 0L, 1L),
            ("middle", pages / 2, (pages / 2) + 1),
            ("last", pages - 1, pages - 2),
        })
        {
            MappingToDeviceToMapping(dev, edu, info, run, $"{where} page {page}", page, other, seed + (ulong)page);
            DeviceToMapping(dev, edu, info, run, $"{where} page {page}", page, seed + (ulong)page + 1);
        }

        Assert.Equal(edu.Transfers, run.Transfers);
        run.Report(edu);
    }

    /// <summary>
    /// The device reads a page of the region and writes it to another: if its DMA mask clamped the addresses, the
    /// copy does not arrive. It is the row's first transfer, so nothing else is sent to a clamped address; with the
    /// suite's region at 4 GiB the clamped write lands at 0x3000, in the low 64 KiB the kernel leaves unused.
    /// </summary>
    private static void ProveTheDeviceReachesTheRegion(MemphysDevice dev, EduDevice edu, MemphysInfo info, Tally run)
    {
        byte[] pattern = PatternBytes(0xd1a5);
        byte[] page = new byte[Page];
        Array.Fill(page, Sentinel);
        Assert.Equal((int)Page, dev.Write(ProbePage * Page, page));
        Assert.Equal(Count, dev.Write(ScratchPage * Page, pattern.AsSpan(0, Count)));
        edu.CopyToDevice(Bus(info, ScratchPage), 0, Count);
        edu.CopyFromDevice(0, Bus(info, ProbePage), Count);
        run.Transfers += 2;
        Assert.Equal((int)Page, dev.Read(ProbePage * Page, page));
        Assert.True(page.AsSpan(0, Count).SequenceEqual(pattern.AsSpan(0, Count)),
            $"edu's DMA did not reach the region at 0x{Bus(info, ScratchPage):x}: is the guest's edu started with " +
            $"{EduSupport.QemuDevice} (its default 28-bit DMA mask clamps addresses)? {FirstDifference(page, pattern, Count)}");
        run.BytesChecked += Count;
    }

    /// <summary>Pattern stored through the mapping at <paramref name="page"/> -> device buffer -> page <paramref name="other"/>.</summary>
    private static unsafe void MappingToDeviceToMapping(MemphysDevice dev, EduDevice edu, MemphysInfo info, Tally run,
        string where, long page, long other, ulong seed)
    {
        long first = Math.Min(page, other);
        using MemphysMapping map = dev.Map(first * Page, 2 * Page);
        Span<byte> source = map.GetSpan((page - first) * Page, (int)Page);
        Span<byte> target = map.GetSpan((other - first) * Page, (int)Page);
        byte[] pattern = PatternBytes(seed);
        pattern.AsSpan(0, Count).CopyTo(source);
        target.Fill(Sentinel);

        edu.CopyToDevice(Bus(info, page), 0, Count);
        edu.CopyFromDevice(0, Bus(info, other), Count);
        run.Transfers += 2;

        string what = $"{where}: stored through the mapping, copied by the device to page {other}";
        run.BytesChecked += ExpectLanded(dev, target, other, pattern, what);
        Assert.True(source[..Count].SequenceEqual(pattern.AsSpan(0, Count)), $"{what}: the source page changed");
    }

    /// <summary>A pattern loaded into the device from the scratch page, written by the device to <paramref name="page"/>.</summary>
    private static void DeviceToMapping(MemphysDevice dev, EduDevice edu, MemphysInfo info, Tally run, string where, long page, ulong seed)
    {
        using MemphysMapping map = dev.Map(page * Page, Page);
        Span<byte> target = map.GetSpan(0, (int)Page);
        byte[] pattern = PatternBytes(seed);
        Assert.Equal(Count, dev.Write(ScratchPage * Page, pattern.AsSpan(0, Count)));
        target.Fill(Sentinel);

        edu.CopyToDevice(Bus(info, ScratchPage), 0, Count);
        edu.CopyFromDevice(0, Bus(info, page), Count);
        run.Transfers += 2;

        run.BytesChecked += ExpectLanded(dev, target, page, pattern, $"{where}: written by the device");
    }

    /// <summary>
    /// Asserts that <paramref name="target"/> (page <paramref name="page"/>) holds the pattern then the sentinel,
    /// read through the mapping and through read(); the number of bytes compared.
    /// </summary>
    private static long ExpectLanded(MemphysDevice dev, Span<byte> target, long page, byte[] pattern, string what)
    {
        byte[] expected = pattern[..Count].Append(Sentinel).ToArray();
        byte[] viaMapping = target.ToArray();
        Assert.True(viaMapping.AsSpan().SequenceEqual(expected), $"{what}, read through the mapping: {FirstDifference(viaMapping, expected, (int)Page)}");
        byte[] viaRead = new byte[Page];
        Assert.Equal((int)Page, dev.Read(page * Page, viaRead));
        Assert.True(viaRead.AsSpan().SequenceEqual(expected), $"{what}, read with read(): {FirstDifference(viaRead, expected, (int)Page)}");
        return 2 * Page;
    }

    private static ulong Bus(MemphysInfo info, long page) => info.PhysicalBase + (ulong)(page * Page);

    private static byte[] PatternBytes(ulong seed)
    {
        byte[] bytes = new byte[Page];
        Pattern.Fill(bytes, 0, seed);
        return bytes;
    }

    private static string FirstDifference(byte[] actual, byte[] expected, int length)
    {
        for (int i = 0; i < length; i++)
        {
            if (actual[i] != expected[i])
            {
                int differing = Enumerable.Range(0, length).Count(k => actual[k] != expected[k]);
                return $"{differing} of {length} bytes differ, the first at +{i}: 0x{actual[i]:x2}, want 0x{expected[i]:x2}";
            }
        }

        return "no difference";
    }

    /// <summary>What one row did, reported to the test output and MEMPHYS_OUT/dma-results.txt.</summary>
    private sealed class Tally(MemphysInfo info, MappingMethod method, CachingMode type)
    {
        public long Transfers { get; set; }

        public long BytesChecked { get; set; }

        public void Report(EduDevice edu)
        {
            string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            string line = string.Create(CultureInfo.InvariantCulture,
                $"dma no-iommu kernel={kernel} method={method.ToString().ToLowerInvariant()} type={type.ParameterName()} " +
                $"region=0x{info.PhysicalBase:x}+0x{info.RegionSize:x} transfers={Transfers} bytes_moved={edu.BytesTransferred} bytes_checked={BytesChecked}");
            TestContext.Current.TestOutputHelper?.WriteLine(line);
            if (Environment.GetEnvironmentVariable("MEMPHYS_OUT") is { Length: > 0 } dir)
            {
                File.AppendAllText(Path.Combine(dir, "dma-results.txt"), line + "\n");
            }
        }
    }
}
