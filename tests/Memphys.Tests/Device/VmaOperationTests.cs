using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>What the kernel's VMA operations do to memphys mappings: madvise, mprotect, munmap, mremap.</summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class VmaOperationTests
{
    public static TheoryData<MappingMethod> Methods => new(Enum.GetValues<MappingMethod>());

    private static void AssertPage(MemphysDevice dev, MemphysMapping map, long page, ulong seed)
    {
        ulong want = Word(seed, (ulong)page);
        Assert.Equal(want, *PageWord(map, page));
        PageTableEntry e = dev.QueryPage(map.BaseAddress + (nint)(page * Page));
        Assert.Equal(BasePfn(dev.GetInfo()) + (ulong)page, e.Pfn);
    }

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void MadviseDontneedIsRefusedAndTheMappingStaysIntact(MappingMethod method)
    {
        using MemphysDevice dev = OpenWith(method);
        using MemphysMapping map = dev.Map(0, 8 * Page);
        *PageWord(map, 2) = Word(51, 2);
        ulong faults = dev.GetStats().PteFaults;

        // The kernel zaps no VM_PFNMAP area through madvise (can_madv_lru_vma): EINVAL.
        int errno = ErrnoOf(() => map.Advise(Interop.Libc.MADV_DONTNEED));
        Assert.Equal(Interop.Errors.EINVAL, errno);
        AssertPage(dev, map, 2, 51);
        Assert.Equal(faults, dev.GetStats().PteFaults);
    }

    /// <summary>
    /// Before 6.16, x86 PAT cannot split the memtype reservation of a remap_pfn_range() area, so memphys
    /// refuses to split remap areas there (vm_ops->may_split) rather than leak it.
    /// </summary>
    private static bool RemapAreasStayWhole()
    {
        string[] release = File.ReadAllText("/proc/sys/kernel/osrelease").Split('.', '-');
        var version = new Version(int.Parse(release[0], System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(release[1], System.Globalization.CultureInfo.InvariantCulture));
        bool pat = File.ReadLines("/proc/cpuinfo").Any(l => l.StartsWith("flags", StringComparison.Ordinal) && l.Split(' ').Contains("pat"));
        return pat && version < new Version(6, 16);
    }

    [DeviceFact]
    public void UnmappingAndMappingAgainRefaultsTheSameFrameAndData()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        dev.SetFaultAround(1);
        using (MemphysMapping first = dev.Map(0, 8 * Page))
        {
            *PageWord(first, 5) = Word(52, 5);
        }

        using MemphysMapping again = dev.Map(0, 8 * Page);
        Assert.False(dev.QueryPage(again.BaseAddress + (nint)(5 * Page)).Present);
        AssertPage(dev, again, 5, 52);
        Assert.Equal(2UL, dev.GetStats().PteFaults);
    }

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void WritingAfterMprotectReadOnlyKillsTheWriterWithSigsegv(MappingMethod method)
    {
        string name = method == MappingMethod.Remap ? "remap" : "fault";
        Assert.Equal("signal SIGSEGV", Probe("mprotect-write", DeviceEnvironment.DevicePath, name));
    }

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void UnmappingTheMiddleLeavesBothEndsCorrect(MappingMethod method)
    {
        using MemphysDevice dev = OpenWith(method);
        using MemphysMapping map = dev.Map(0, 64 * Page);
        for (long page = 0; page < 64; page++)
        {
            *PageWord(map, page) = Word(53, (ulong)page);
        }

        int errno = Interop.Libc.MUnmap(map.BaseAddress + (nint)(16 * Page), (nuint)(16 * Page)) == 0
            ? 0 : System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        bool whole = method == MappingMethod.Remap && RemapAreasStayWhole();
        Assert.Equal(whole ? Interop.Errors.EINVAL : 0, errno);
        for (long page = 0; page < 64; page++)
        {
            if (!whole && page is >= 16 and < 32)
            {
                Assert.Equal(Interop.Errors.EINVAL, ErrnoOf(() => dev.QueryPage(map.BaseAddress + (nint)(page * Page))));
                continue;
            }

            AssertPage(dev, map, page, 53);
        }
    }

    [DeviceTheory]
    [MemberData(nameof(Methods))]
    public void MremapCannotGrowOrMoveAMapping(MappingMethod method)
    {
        using MemphysDevice dev = OpenWith(method);
        using MemphysMapping map = dev.Map(0, 8 * Page);
        *PageWord(map, 1) = Word(54, 1);

        // Growing: the kernel refuses VM_DONTEXPAND/VM_PFNMAP areas with EFAULT.
        Assert.Equal(Interop.Errors.EFAULT, MRemap(map.BaseAddress, 8 * Page, 16 * Page, MREMAP_MAYMOVE));
        // Moving: memphys's vm_ops->mremap refuses, and the kernel moves the pages back.
        using MemphysMapping target = MemphysMapping.CreateAnonymous(8 * Page);
        Assert.Equal(Interop.Errors.EINVAL,
            MRemap(map.BaseAddress, 8 * Page, 8 * Page, MREMAP_MAYMOVE | MREMAP_FIXED, target.BaseAddress));
        AssertPage(dev, map, 1, 54);
    }
}
