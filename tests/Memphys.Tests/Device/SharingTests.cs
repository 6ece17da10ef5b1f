using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>The same physical bytes through both methods, read/write, other processes and copy-on-write.</summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Trait(TestStage.Name, TestStage.WholeRegion)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class SharingTests
{
    private static void WritePattern(MemphysMapping map, ulong seed)
    {
        for (long page = 0; page < map.PageCount; page++)
        {
            *PageWord(map, page) = Word(seed, (ulong)(map.RegionOffset / Page + page));
        }
    }

    private static void AssertPattern(MemphysMapping map, ulong seed, string through)
    {
        for (long page = 0; page < map.PageCount; page++)
        {
            ulong want = Word(seed, (ulong)(map.RegionOffset / Page + page));
            ulong got = *PageWord(map, page);
            if (got != want)
            {
                Assert.Fail($"{through}: page {map.RegionOffset / Page + page} holds {got:x16}, expected {want:x16}");
            }
        }
    }

    [DeviceFact]
    public void BothMethodsAndReadWriteSeeTheSameBytes()
    {
        using MemphysDevice remapDev = OpenWith(MappingMethod.Remap);
        using MemphysDevice faultDev = OpenWith(MappingMethod.Fault);
        using MemphysMapping remap = remapDev.Map();
        using MemphysMapping fault = faultDev.Map();

        WritePattern(remap, 11);
        AssertPattern(fault, 11, "fault mapping after remap writes");
        WritePattern(fault, 12);
        AssertPattern(remap, 12, "remap mapping after fault writes");

        // Whole pages, not just first words, through pread.
        Span<byte> buffer = new byte[Page];
        long lastPage = remap.PageCount - 1;
        foreach (long page in new[] { 0L, 1L, lastPage / 2, lastPage })
        {
            new Random((int)page).NextBytes(buffer);
            buffer.CopyTo(fault.GetSpan(page * Page, (int)Page));
            Span<byte> readBack = new byte[Page];
            Assert.Equal((int)Page, remapDev.Read(page * Page, readBack));
            Assert.True(buffer.SequenceEqual(readBack), $"pread of page {page} differs from the mapping");
        }
    }

    [DeviceFact]
    public void AnUnrelatedProcessSeesTheSameBytes()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        long pages = RegionPages(dev.GetInfo());
        using MemphysMapping map = dev.Map();
        WritePattern(map, 21);
        Assert.Equal("match", Probe("check-pattern", DeviceEnvironment.DevicePath, "fault", "0", pages.ToString(), "21"));
        Assert.Equal("match", Probe("check-pattern", DeviceEnvironment.DevicePath, "remap", "0", pages.ToString(), "21"));
    }

    [DeviceFact]
    public void AForkedChildSharesTheMappingBothWays()
    {
        Assert.Equal("shared", Probe("fork-share", DeviceEnvironment.DevicePath, "remap", "256"));
        Assert.Equal("shared", Probe("fork-share", DeviceEnvironment.DevicePath, "fault", "256"));
    }

    [DeviceFact]
    public void PrivateRemapMappingIsCopyOnWrite()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        MemphysInfo info = dev.GetInfo();
        using MemphysMapping shared = dev.Map(0, 16 * Page);
        WritePattern(shared, 31);
        using MemphysMapping priv = dev.Map(0, 16 * Page, isPrivate: true);
        AssertPattern(priv, 31, "private mapping before writes");

        *PageWord(priv, 3) = 0xDEADBEEF;
        Assert.Equal(0xDEADBEEFUL, *PageWord(priv, 3));
        AssertPattern(shared, 31, "shared mapping after a private write");
        Span<byte> word = stackalloc byte[8];
        dev.Read(3 * Page, word);
        Assert.Equal(Word(31, 3), BitConverter.ToUInt64(word));

        PageTableEntry written = dev.QueryPage(priv.BaseAddress + (nint)(3 * Page));
        PageTableEntry untouched = dev.QueryPage(priv.BaseAddress + (nint)(4 * Page));
        Assert.True(written.Present);
        Assert.NotEqual(BasePfn(info) + 3, written.Pfn);
        Assert.True(written.Pfn < BasePfn(info) || written.Pfn >= BasePfn(info) + (ulong)RegionPages(info),
            $"the copied page {written.Pfn:x} lies inside the region");
        Assert.Equal(BasePfn(info) + 4, untouched.Pfn);
        Assert.False(untouched.Writable);
    }

    [DeviceFact]
    public void PreadPwriteClampAtTheEndOfTheRegion()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        long size = (long)dev.GetInfo().RegionSize;
        using MemphysMapping tail = dev.Map(size - 2 * Page, 2 * Page);

        byte[] data = new byte[3 * Page];
        new Random(41).NextBytes(data);
        Assert.Equal((int)(2 * Page), dev.Write(size - 2 * Page, data));
        Assert.True(data.AsSpan(0, (int)(2 * Page)).SequenceEqual(tail.GetSpan(0, (int)(2 * Page))));

        byte[] back = new byte[4 * Page];
        Assert.Equal(100, dev.Read(size - 100, back));
        Assert.True(back.AsSpan(0, 100).SequenceEqual(data.AsSpan((int)(2 * Page) - 100, 100)));
        Assert.Equal(0, dev.Read(size, back));
        Assert.Equal(0, dev.Write(size, data));
        Assert.Equal(Interop.Errors.EINVAL, ErrnoOf(() => dev.Read(-Page, back)));

        Assert.Equal(0, LSeek(dev, 0, SEEK_END, out long end));
        Assert.Equal(size, end);
        Assert.Equal(0, LSeek(dev, -Page, SEEK_END, out long nearEnd));
        Assert.Equal(size - Page, nearEnd);
    }

    [DeviceFact]
    public void MappingTheRegionChargesNeitherRssNorTheMemoryCgroup()
    {
        using var cgroup = MemoryCgroup.Enter("memphys-test");
        long rssBefore = VmRssBytes();
        long cgBefore = cgroup.CurrentBytes();
        foreach (MappingMethod method in PfnMapMethods)
        {
            using MemphysDevice dev = OpenWith(method);
            using MemphysMapping map = dev.Map();
            map.TouchPages(write: true);
            long rssGrowth = VmRssBytes() - rssBefore;
            long cgGrowth = cgroup.CurrentBytes() - cgBefore;
            // The whole region is mapped and touched: a few MiB of runtime noise may show up, and the cgroup is
            // charged the page tables (one 8-byte entry per 4 KiB page: 2 MiB per GiB), never the region's RAM.
            long pageTables = map.Length / Page * sizeof(ulong);
            Assert.True(rssGrowth < 16 << 20, $"{method}: VmRSS grew {rssGrowth >> 10} KiB");
            Assert.True(cgGrowth < (16 << 20) + pageTables,
                $"{method}: memory.current grew {cgGrowth >> 10} KiB (page tables of the mapping: {pageTables >> 10} KiB)");
        }
    }
}
