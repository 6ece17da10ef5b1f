using System.Runtime.CompilerServices;

namespace Memphys.Native;

/// <summary>
/// C# mirror of <c>driver/include/uapi/linux/memphys.h</c>. Every constant, struct size, field
/// offset and request number here is checked against the real header by <c>UapiLayoutTests</c>.
/// </summary>
internal static class Uapi
{
    internal const uint UapiVersion = 4;

    internal const uint MethodRemap = 0;
    internal const uint MethodFault = 1;
    internal const uint MethodPages = 2;
    internal const uint MethodCount = 3;

    internal const uint CacheWb = 0;
    internal const uint CacheWc = 1;
    internal const uint CacheUc = 2;
    internal const uint CacheCount = 3;

    internal const uint MemTypeWb = 0;
    internal const uint MemTypeWc = 1;
    internal const uint MemTypeUc = 2;
    internal const uint MemTypeUcMinus = 3;
    internal const uint MemTypeWt = 4;
    internal const uint MemTypeWp = 5;
    internal const uint MemTypeUnknown = 6;

    internal const uint Fault4K = 1u << 0;
    internal const uint Fault2M = 1u << 1;
    internal const uint Fault1G = 1u << 2;

    internal const ulong Size4K = 0x1000;
    internal const ulong Size2M = 0x200000;
    internal const ulong Size1G = 0x40000000;

    internal const uint IocMagic = 0xDE;

    // <asm-generic/ioctl.h>: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits (x86_64, aarch64).
    private const int NrShift = 0;
    private const int TypeShift = 8;
    private const int SizeShift = 16;
    private const int DirShift = 30;
    private const uint DirNone = 0;
    private const uint DirWrite = 1;
    private const uint DirRead = 2;

    internal static uint IoC(uint dir, uint type, uint nr, uint size) =>
        (dir << DirShift) | (type << TypeShift) | (nr << NrShift) | (size << SizeShift);

    internal static uint Io(uint type, uint nr) => IoC(DirNone, type, nr, 0);

    internal static uint IoR<T>(uint type, uint nr) where T : unmanaged => IoC(DirRead, type, nr, (uint)Unsafe.SizeOf<T>());

    internal static uint IoW<T>(uint type, uint nr) where T : unmanaged => IoC(DirWrite, type, nr, (uint)Unsafe.SizeOf<T>());

    internal static uint IoWR<T>(uint type, uint nr) where T : unmanaged =>
        IoC(DirRead | DirWrite, type, nr, (uint)Unsafe.SizeOf<T>());

    internal static readonly uint IocGetInfo = IoR<MemphysInfoNative>(IocMagic, 0x00);
    internal static readonly uint IocSetMethod = IoW<MemphysSettingNative>(IocMagic, 0x01);
    internal static readonly uint IocSetCaching = IoW<MemphysSettingNative>(IocMagic, 0x02);
    internal static readonly uint IocSetMaxFault = IoW<MemphysSettingNative>(IocMagic, 0x03);
    internal static readonly uint IocGetStats = IoR<MemphysStatsNative>(IocMagic, 0x04);
    internal static readonly uint IocResetStats = Io(IocMagic, 0x05);
    internal static readonly uint IocQueryPage = IoWR<MemphysPageQueryNative>(IocMagic, 0x06);
    internal static readonly uint IocSetFaultAround = IoW<MemphysSettingNative>(IocMagic, 0x07);
    internal static readonly uint IocSync = IoWR<MemphysSyncNative>(IocMagic, 0x08);
    internal static readonly uint IocExportDmaBuf = IoWR<MemphysDmaBufExportNative>(IocMagic, 0x09);

    /// <summary><c>MEMPHYS_FAULT_AROUND_MAX</c>: the most pages one 4 KiB fault may map.</summary>
    internal const uint FaultAroundMax = 512;

    /// <summary>
    /// Checks the <c>size</c> and <c>version</c> a driver wrote into a GET_INFO / GET_STATS reply: a driver built
    /// from another UAPI revision would fill the fields at other offsets, so its reply cannot be read.
    /// </summary>
    /// <exception cref="MemphysException">EPROTO, naming what the driver reported and what this toolkit expects.</exception>
    internal static void CheckHeader(uint size, uint version, int expectedSize, string operation, string? path)
    {
        if (size != (uint)expectedSize || version != UapiVersion)
        {
            throw new MemphysException(Interop.Errors.EPROTO, operation, path,
                $"reports UAPI version {version} with a {size}-byte reply; this toolkit reads version {UapiVersion} with {expectedSize} bytes " +
                "(driver and toolkit come from different memphys versions)");
        }
    }

    internal const uint SyncBidirectional = 0;
    internal const uint SyncToDevice = 1;
    internal const uint SyncFromDevice = 2;

    internal const uint SyncResultDone = 1;
    internal const uint SyncResultUncached = 2;
    internal const uint SyncResultCoherent = 3;
    internal const uint SyncResultCoherentArch = 4;

    internal const uint PagePresent = 1u << 0;
    internal const uint PageWrite = 1u << 1;
}
