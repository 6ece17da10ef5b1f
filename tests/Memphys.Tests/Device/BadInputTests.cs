using Memphys.Native;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// Every bad request the driver can be sent, each with the exact errno it must get. The table is listed
/// in tests/README.md; the insmod cases are in <see cref="ModuleLifecycleTests"/>.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class BadInputTests
{
    private delegate int Case(MemphysDevice dev, MemphysInfo info);

    private static readonly int Shared = Interop.Libc.MAP_SHARED;
    private static readonly int Private = Interop.Libc.MAP_PRIVATE;
    private const int R = 1, W = 2, RW = 3;

    private static int SetRaw(MemphysDevice dev, uint request, ulong value, ulong reserved)
    {
        MemphysSettingNative setting = new() { Value = value, Reserved = reserved };
        return IoctlErrno(dev, request, &setting);
    }

    private static int Query(MemphysDevice dev, ulong address, ulong reserved = 0)
    {
        MemphysPageQueryNative q = new() { Address = address, Reserved = reserved };
        return IoctlErrno(dev, Uapi.IocQueryPage, &q);
    }

    /// <summary>
    /// A PROT_NONE page reserved for the life of the test process: the kernel cannot copy to or from it (EFAULT), and
    /// unlike an unmapped address no later mmap can be placed there.
    /// </summary>
    private static readonly MemphysMapping s_inaccessible = MemphysMapping.CreateAnonymous(Page, MapProtection.None);

    private static void* InaccessiblePage() => s_inaccessible.Pointer;

    private static int WithMethod(MemphysDevice dev, MappingMethod method, Func<int> action)
    {
        dev.SetMethod(method);
        return action();
    }

    private static int MMapWritableOnReadOnlyFile()
    {
        using MemphysDevice ro = MemphysDevice.Open(DeviceEnvironment.DevicePath, readOnly: true);
        return MMapErrno(ro, 0, Page, RW, Shared);
    }

    private static int MProtectExecLater(MemphysDevice dev)
    {
        using MemphysMapping map = dev.Map(0, Page, MapProtection.Read);
        return MProtect(map.BaseAddress, Page, R | PROT_EXEC);
    }

    /// <summary>An ioctl whose argument points to one zeroed <c>ulong</c>.</summary>
    private static int IoctlWithUlong(MemphysDevice dev, uint request)
    {
        ulong arg = 0;
        return IoctlErrno(dev, request, &arg);
    }

    private static int GetStatsIntoReadOnlyBuffer(MemphysDevice dev)
    {
        using MemphysMapping ro = MemphysMapping.CreateAnonymous(Page, MapProtection.Read);
        return IoctlErrno(dev, Uapi.IocGetStats, ro.Pointer);
    }

    private static int QueryOwnMapping(MemphysDevice dev, ulong reserved)
    {
        using MemphysMapping map = dev.Map(0, Page);
        return Query(dev, (ulong)map.BaseAddress, reserved);
    }

    private static int QueryAnonymousMemory(MemphysDevice dev)
    {
        using MemphysMapping anon = MemphysMapping.CreateAnonymous(Page);
        return Query(dev, (ulong)anon.BaseAddress);
    }

    private static readonly Dictionary<string, (int Errno, Case Run)> Cases = new()
    {
        // mmap ranges: -EINVAL from the driver's range check or the kernel's own argument checks.
        ["mmap offset at the end"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, (long)i.RegionSize, Page, RW, Shared)),
        ["mmap offset past the end"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, (long)i.RegionSize + (1L << 30), Page, RW, Shared)),
        ["mmap offset+length past the end"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, (long)i.RegionSize - Page, 2 * Page, RW, Shared)),
        ["mmap length larger than the region"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, 0, (long)i.RegionSize + Page, RW, Shared)),
        ["mmap length 0"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, 0, 0, RW, Shared)),
        ["mmap offset not page-aligned"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, 100, Page, RW, Shared)),
        // The kernel's file_mmap_ok() stops this one before the driver sees it.
        ["mmap offset 2^64-4096"] = (Interop.Errors.EOVERFLOW, (d, i) => MMapErrno(d, -Page, Page, RW, Shared)),
        ["mmap offset 2^64-2^40"] = (Interop.Errors.EINVAL, (d, i) =>
            MMapErrno(d, -(1L << 40), Page, RW, Shared)),
        ["mmap offset 2^63"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, long.MinValue, Page, RW, Shared)),
        ["mmap offset 2^63-4096"] = (Interop.Errors.EINVAL, (d, i) => MMapErrno(d, long.MaxValue - Page + 1, Page, RW, Shared)),
        ["mmap fault method, length past the end"] = (Interop.Errors.EINVAL, (d, i) =>
            WithMethod(d, MappingMethod.Fault, () => MMapErrno(d, Page, (long)i.RegionSize, R, Shared))),
        ["mmap fault method MAP_PRIVATE"] = (Interop.Errors.EINVAL, (d, i) =>
            WithMethod(d, MappingMethod.Fault, () => MMapErrno(d, 0, Page, RW, Private))),
        ["mmap fault method MAP_PRIVATE read-only"] = (Interop.Errors.EINVAL, (d, i) =>
            WithMethod(d, MappingMethod.Fault, () => MMapErrno(d, 0, Page, R, Private))),
        ["mmap PROT_EXEC shared"] = (Interop.Errors.EPERM, (d, i) => MMapErrno(d, 0, Page, R | PROT_EXEC, Shared)),
        ["mmap PROT_EXEC private"] = (Interop.Errors.EPERM, (d, i) => MMapErrno(d, 0, Page, R | PROT_EXEC, Private)),
        ["mmap PROT_WRITE shared on O_RDONLY"] = (Interop.Errors.EACCES, (d, i) => MMapWritableOnReadOnlyFile()),
        ["mprotect PROT_EXEC later"] = (Interop.Errors.EACCES, (d, i) => MProtectExecLater(d)),

        // ioctl numbers: -ENOTTY.
        ["ioctl unknown number"] = (Interop.Errors.ENOTTY, (d, i) => IoctlErrno(d, Uapi.Io(Uapi.IocMagic, 0x7f), null)),
        ["ioctl foreign magic"] = (Interop.Errors.ENOTTY, (d, i) => IoctlErrno(d, Uapi.Io('X', 0x00), null)),
        ["ioctl GET_INFO with a wrong size"] = (Interop.Errors.ENOTTY, (d, i) => IoctlWithUlong(d, Uapi.IoR<ulong>(Uapi.IocMagic, 0x00))),
        ["ioctl RESET_STATS encoded as a write"] = (Interop.Errors.ENOTTY, (d, i) => IoctlWithUlong(d, Uapi.IoW<ulong>(Uapi.IocMagic, 0x05))),

        // ioctl user pointers: -EFAULT.
        ["ioctl GET_INFO NULL"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocGetInfo, null)),
        ["ioctl GET_INFO unmapped"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocGetInfo, InaccessiblePage())),
        ["ioctl GET_STATS NULL"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocGetStats, null)),
        ["ioctl GET_STATS read-only buffer"] = (Interop.Errors.EFAULT, (d, i) => GetStatsIntoReadOnlyBuffer(d)),
        ["ioctl SET_METHOD NULL"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocSetMethod, null)),
        ["ioctl SET_CACHING NULL"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocSetCaching, null)),
        ["ioctl SET_MAX_FAULT unmapped"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocSetMaxFault, InaccessiblePage())),
        ["ioctl SET_FAULT_AROUND NULL"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocSetFaultAround, null)),
        ["ioctl QUERY_PAGE NULL"] = (Interop.Errors.EFAULT, (d, i) => IoctlErrno(d, Uapi.IocQueryPage, null)),

        // ioctl values: -EINVAL (and -EOPNOTSUPP for a fault size this kernel cannot install).
        ["SET_METHOD 3 (count)"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMethod, Uapi.MethodCount, 0)),
        ["SET_METHOD pages, region without :pages"] = (Interop.Errors.EOPNOTSUPP, (d, i) => SetRaw(d, Uapi.IocSetMethod, Uapi.MethodPages, 0)),
        ["SET_METHOD 2^32"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMethod, 1UL << 32, 0)),
        ["SET_METHOD reserved non-zero"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMethod, 0, 1)),
        ["SET_CACHING 3"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetCaching, 3, 0)),
        ["SET_CACHING reserved non-zero"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetCaching, 0, 1UL << 63)),
        ["SET_MAX_FAULT 0"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMaxFault, 0, 0)),
        ["SET_MAX_FAULT 8 KiB"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMaxFault, 8192, 0)),
        ["SET_MAX_FAULT 4 MiB"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMaxFault, 4 << 20, 0)),
        ["SET_MAX_FAULT reserved non-zero"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetMaxFault, Uapi.Size4K, 1)),
        ["SET_FAULT_AROUND 0"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetFaultAround, 0, 0)),
        ["SET_FAULT_AROUND 3 (not a power of two)"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetFaultAround, 3, 0)),
        ["SET_FAULT_AROUND 1024 (above 512)"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetFaultAround, 1024, 0)),
        ["SET_FAULT_AROUND 2^32+16"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetFaultAround, (1UL << 32) + 16, 0)),
        ["SET_FAULT_AROUND reserved non-zero"] = (Interop.Errors.EINVAL, (d, i) => SetRaw(d, Uapi.IocSetFaultAround, 16, 1)),
        ["QUERY_PAGE reserved non-zero"] = (Interop.Errors.EINVAL, (d, i) => QueryOwnMapping(d, reserved: 1)),
        ["QUERY_PAGE of anonymous memory"] = (Interop.Errors.EINVAL, (d, i) => QueryAnonymousMemory(d)),
        ["QUERY_PAGE of a non-canonical address"] = (Interop.Errors.EINVAL, (d, i) => Query(d, 1UL << 63)),

        // Files.
        ["open without CAP_SYS_RAWIO"] = (Interop.Errors.EPERM, (d, i) =>
            Probe("open-without-rawio", DeviceEnvironment.DevicePath) == "EPERM" ? Interop.Errors.EPERM : -1),
        ["pread at a negative offset"] = (Interop.Errors.EINVAL, (d, i) => ErrnoOf(() => d.Read(-1, new byte[8]))),
        ["lseek to a negative offset"] = (Interop.Errors.EINVAL, (d, i) => LSeek(d, -Page, SEEK_SET, out _)),
        ["lseek past the end"] = (Interop.Errors.EINVAL, (d, i) => LSeek(d, (long)i.RegionSize + 1, SEEK_SET, out _)),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [DeviceTheory]
    [MemberData(nameof(CaseNames))]
    public void IsRefusedWithItsErrno(string name)
    {
        (int expected, Case run) = Cases[name];
        using MemphysDevice dev = OpenWith(MappingMethod.Remap);
        MemphysInfo info = dev.GetInfo();
        int errno = run(dev, info);
        Assert.True(expected == errno,
            $"{name}: expected {Interop.Errors.Name(expected)}, got {(errno == 0 ? "success" : Interop.Errors.Name(errno))}");
        // A refused request never leaves a mapping or a counted fault behind.
        Assert.Equal(0UL, dev.GetStats().TotalFaults);
    }
}
