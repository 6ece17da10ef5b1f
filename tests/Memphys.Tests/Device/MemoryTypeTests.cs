using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// The memory type of every mapping, read back from the real page table entries (MEMPHYS_IOC_QUERY_PAGE decodes
/// their PAT/PCD/PWT bits): each region has one type, chosen at load (regions=SIZE@BASE:wb|wc|uc) and held by the
/// driver, so both methods and every fault size get exactly it, before and after read()/write() of the region.
/// Under TCG every type runs at the same speed: only the entries tell the types apart.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class MemoryTypeTests
{
    private const long SmallMapping = 64 * Page;

    public static TheoryData<CachingMode, MappingMethod> TypesAndMethods => new()
    {
        { CachingMode.WriteBack, MappingMethod.Remap },
        { CachingMode.WriteBack, MappingMethod.Fault },
        { CachingMode.WriteCombining, MappingMethod.Remap },
        { CachingMode.WriteCombining, MappingMethod.Fault },
        { CachingMode.Uncached, MappingMethod.Remap },
        { CachingMode.Uncached, MappingMethod.Fault },
    };

    /// <summary>Runs <paramref name="test"/> with the harness's regions loaded as <paramref name="mode"/>.</summary>
    private static void WithRegionType(CachingMode mode, Action test) => ModuleReload.WithRegionsOfType(mode.ParameterName(), test);

    /// <summary>Entry sizes the method can install here: the fault sizes the kernel reports, or 4 KiB for remap.</summary>
    private static IEnumerable<long> EntrySizes(MemphysInfo info, MappingMethod method) =>
        method == MappingMethod.Remap ? [FaultSize.Pte] : FaultSize.ToBytes(info.FaultSizes).Where(s => s <= info.RegionSize);

    /// <summary>Sampled pages of <paramref name="map"/>: first, second, middle, last.</summary>
    private static long[] Samples(MemphysMapping map) => [0, 1, map.PageCount / 2, map.PageCount - 1];

    private static void AssertEntries(MemphysDevice dev, MemphysMapping map, CachingMode mode, long entrySize, string when)
    {
        ulong basePfn = BasePfn(dev.GetInfo()) + (ulong)(map.RegionOffset / Page);
        foreach (long page in Samples(map))
        {
            PageTableEntry e = dev.QueryPage(map.BaseAddress + (nint)(page * Page));
            string where = $"{when}, page {page}";
            Assert.True(e.Present, $"{where}: not present");
            Assert.Equal(basePfn + (ulong)page, e.Pfn);
            Assert.True(e.MemoryType.Honours(mode), $"{where}: a {mode.ParameterName()} region mapped {e.MemoryType.Short()}");
            Assert.Equal(entrySize, e.EntrySize);
        }
    }

    /// <summary>Maps a block of <paramref name="entrySize"/> (at least 64 pages) and writes the sampled pages.</summary>
    private static MemphysMapping MapAndTouch(MemphysDevice dev, MappingMethod method, long entrySize)
    {
        if (method == MappingMethod.Fault)
        {
            dev.SetMaxFaultSize(entrySize);
        }

        long length = Math.Max(entrySize, SmallMapping);
        MemphysMapping map = dev.Map(0, length, alignment: method == MappingMethod.Fault ? entrySize : 0);
        foreach (long page in Samples(map))
        {
            PageWord(map, page)[1] = (ulong)page;
        }

        return map;
    }

    [DeviceTheory]
    [MemberData(nameof(TypesAndMethods))]
    public void EveryEntryHasTheRegionsTypeAtEveryFaultSizeBeforeAndAfterReadAndWrite(CachingMode mode, MappingMethod method) =>
        WithRegionType(mode, () =>
        {
            using MemphysDevice dev = OpenWith(method);
            MemphysInfo info = dev.GetInfo();
            Assert.Equal(mode, info.Caching);
            Assert.Equal([mode], info.SupportedCaching);
            Assert.Equal(mode.ParameterName(), File.ReadAllText("/sys/class/misc/memphys0/caching").Trim());

            var buffer = new byte[SmallMapping];
            foreach (long size in EntrySizes(info, method))
            {
                using (MemphysMapping map = MapAndTouch(dev, method, size))
                {
                    AssertEntries(dev, map, mode, size, $"{MemphysDevice.FormatSize(size)} entries after touching");

                    // read() and write() of the same pages while the mapping lives: same type, same data.
                    Assert.Equal(buffer.Length, dev.Read(0, buffer));
                    Assert.Equal(1UL, BitConverter.ToUInt64(buffer, (int)Page + 8));
                    Assert.Equal(buffer.Length, dev.Write(0, buffer));
                    AssertEntries(dev, map, mode, size, $"{MemphysDevice.FormatSize(size)} entries after read()/write()");
                    Assert.Equal((ulong)(map.PageCount - 1), PageWord(map, map.PageCount - 1)[1]);
                }

                using MemphysMapping again = MapAndTouch(dev, method, size);
                AssertEntries(dev, again, mode, size, $"{MemphysDevice.FormatSize(size)} entries of a new mapping after read()/write()");
            }
        });

    [DeviceFact]
    public void SetCachingAcceptsOnlyTheRegionsTypeAndNamesIt()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        CachingMode held = dev.GetInfo().Caching;
        dev.SetCaching(held);
        foreach (CachingMode other in Enum.GetValues<CachingMode>().Where(m => m != held))
        {
            MemphysException e = Assert.Throws<MemphysException>(() => dev.SetCaching(other));
            Assert.Equal("EBUSY", ((IMemphysError)e).ErrnoName);
            Assert.Contains($"the region is {held.ParameterName()}", e.Message, StringComparison.Ordinal);
            MemphysSettingNative raw = new() { Value = (ulong)other };
            Assert.Equal(Interop.Errors.EBUSY, IoctlErrno(dev, Uapi.IocSetCaching, &raw));
        }

        Assert.Equal(held, dev.GetInfo().Caching);
    }

    [DeviceFact]
    public void TheCliRefusesAnotherTypeAndSaysWhichTheRegionHas()
    {
        using MemphysDevice dev = DeviceEnvironment.Open();
        CachingMode held = dev.GetInfo().Caching;
        CachingMode other = held == CachingMode.WriteCombining ? CachingMode.Uncached : CachingMode.WriteCombining;
        (int code, _, string message) = CliRunner.Run(["map", "--device", DeviceEnvironment.DevicePath, "--method", "remap",
            "--length", "4K", "--caching", other.ParameterName()]);
        Assert.NotEqual(0, code);
        Assert.Contains($"SET_CACHING {other.ParameterName()} refused: the region is {held.ParameterName()}", message, StringComparison.Ordinal);
        Assert.Contains("(EBUSY)", message, StringComparison.Ordinal);
    }

    /// <summary>
    /// x86 PAT grants a new mapping the type of an existing record of part of its range (WB may become UC-, WC or UC;
    /// UC- may become WC or UC) instead of failing. With one page of the region held uncached by the test module
    /// tests/vm/memtype-holder (ioremap_uc), every load must be refused, naming the type the kernel gave, rather than
    /// mapping the region with a type nobody asked for; the harness's log scan sees no PAT warning.
    /// </summary>
    [DeviceFact]
    public void ALoadIsRefusedNamingTheTypeGrantedWhenAnotherMappingHoldsAPageWithAnother()
    {
        ModuleReload.Require();
        Assert.SkipWhen(GuestPlatform.IsArm64, "x86 PAT grants other types than asked for; arm64's mappings get the type they ask for");
        string holder = Environment.GetEnvironmentVariable("MEMPHYS_HOLDER_KO") ?? "";
        Assert.SkipWhen(holder.Length == 0, "needs MEMPHYS_HOLDER_KO, the memtype-holder test module (tests/run-tests.sh builds it)");
        var pat = new Dictionary<string, string> { ["wb"] = "WB", ["wc"] = "WC", ["uc"] = "UC-" };
        string first = ModuleReload.Regions.Split(',')[0];
        ulong page = Convert.ToUInt64(first[(first.IndexOf('@', StringComparison.Ordinal) + 1)..], 16) + 5 * (ulong)Page;
        try
        {
            Assert.Equal("OK", ModuleReload.Unload());
            Assert.Equal("OK", Probe("finit-module", holder, $"phys=0x{page:x} type=uc"));
            foreach (string type in new[] { "wb", "wc", "uc" })
            {
                int logLines = ModuleReload.KernelLogLines();
                Assert.Equal("EBUSY", ModuleReload.Load($"regions={ModuleReload.RegionsOfType(type)}"));
                Assert.False(ModuleReload.Loaded, $"memphys loaded as {type} with a page held uncached");
                Assert.Contains(ModuleReload.KernelLogSince(logLines), l =>
                    l.Contains($"asked for the {type} memory type ({pat[type]}), but the kernel gave [mem", StringComparison.Ordinal) &&
                    l.Contains("] UC: another mapping of part of the range holds it", StringComparison.Ordinal));
            }

            Assert.Equal("OK", Probe("delete-module", "memphys_memtype_holder"));
            Assert.Equal("OK", ModuleReload.Load($"regions={ModuleReload.RegionsOfType("wc")}"));
        }
        finally
        {
            Probe("delete-module", "memphys_memtype_holder");
            ModuleReload.Restore();
        }
    }
}
