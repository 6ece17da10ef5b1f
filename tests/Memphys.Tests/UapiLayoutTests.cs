using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys.Tests;

/// <summary>
/// Compiles a C program against the driver's real UAPI header and the system's libc headers, and checks that
/// every C# mirror (struct sizes, field offsets, request numbers, constants, libc flag values) matches.
/// </summary>
public sealed class UapiLayoutTests
{
    private static readonly Lazy<Dictionary<string, ulong>> s_c = new(CompileAndRun);

    private const string Program = """
        #include <stdio.h>
        #include <stddef.h>
        #include <fcntl.h>
        #include <sys/mman.h>
        #include <linux/memphys.h>
        #define P(name, expr) printf("%s %llu\n", name, (unsigned long long)(expr))
        #define S(t) P("sizeof " #t, sizeof(struct t))
        #define O(t, f) P("offsetof " #t "." #f, offsetof(struct t, f))
        #define C(x) P(#x, x)
        int main(void) {
            S(memphys_info);
            O(memphys_info, size); O(memphys_info, version); O(memphys_info, index); O(memphys_info, page_size);
            O(memphys_info, phys_base); O(memphys_info, region_size); O(memphys_info, methods);
            O(memphys_info, caching_modes); O(memphys_info, fault_sizes); O(memphys_info, method);
            O(memphys_info, caching); O(memphys_info, reserved0); O(memphys_info, max_fault_size);
            O(memphys_info, fault_around); O(memphys_info, pages_errno); O(memphys_info, reserved);
            S(memphys_setting);
            O(memphys_setting, value); O(memphys_setting, reserved);
            S(memphys_stats);
            O(memphys_stats, size); O(memphys_stats, version); O(memphys_stats, mmap_calls);
            O(memphys_stats, bytes_remapped); O(memphys_stats, pte_faults); O(memphys_stats, pmd_faults);
            O(memphys_stats, pud_faults); O(memphys_stats, fallback_faults); O(memphys_stats, refused);
            O(memphys_stats, prefaulted); O(memphys_stats, reserved);
            S(memphys_page_query);
            O(memphys_page_query, address); O(memphys_page_query, pfn); O(memphys_page_query, flags);
            O(memphys_page_query, memtype); O(memphys_page_query, entry_size); O(memphys_page_query, reserved);
            C(MEMPHYS_MEMTYPE_WB); C(MEMPHYS_MEMTYPE_WC); C(MEMPHYS_MEMTYPE_UC); C(MEMPHYS_MEMTYPE_UC_MINUS);
            C(MEMPHYS_MEMTYPE_WT); C(MEMPHYS_MEMTYPE_WP); C(MEMPHYS_MEMTYPE_UNKNOWN);
            C(MEMPHYS_PAGE_PRESENT); C(MEMPHYS_PAGE_WRITE);
            C(MEMPHYS_UAPI_VERSION);
            C(MEMPHYS_METHOD_REMAP); C(MEMPHYS_METHOD_FAULT); C(MEMPHYS_METHOD_PAGES); C(MEMPHYS_METHOD_COUNT);
            C(MEMPHYS_CACHE_WB); C(MEMPHYS_CACHE_WC); C(MEMPHYS_CACHE_UC); C(MEMPHYS_CACHE_COUNT);
            C(MEMPHYS_FAULT_4K); C(MEMPHYS_FAULT_2M); C(MEMPHYS_FAULT_1G);
            C(MEMPHYS_SIZE_4K); C(MEMPHYS_SIZE_2M); C(MEMPHYS_SIZE_1G);
            C(MEMPHYS_FAULT_AROUND_MAX);
            C(MEMPHYS_IOC_MAGIC);
            C(MEMPHYS_IOC_GET_INFO); C(MEMPHYS_IOC_SET_METHOD); C(MEMPHYS_IOC_SET_CACHING);
            C(MEMPHYS_IOC_SET_MAX_FAULT); C(MEMPHYS_IOC_GET_STATS); C(MEMPHYS_IOC_RESET_STATS); C(MEMPHYS_IOC_QUERY_PAGE);
            C(MEMPHYS_IOC_SET_FAULT_AROUND); C(MEMPHYS_IOC_SYNC);
            S(memphys_sync);
            O(memphys_sync, offset); O(memphys_sync, length); O(memphys_sync, direction); O(memphys_sync, flags);
            O(memphys_sync, result); O(memphys_sync, reserved);
            C(MEMPHYS_SYNC_BIDIRECTIONAL); C(MEMPHYS_SYNC_TO_DEVICE); C(MEMPHYS_SYNC_FROM_DEVICE);
            C(MEMPHYS_SYNC_RESULT_DONE); C(MEMPHYS_SYNC_RESULT_UNCACHED); C(MEMPHYS_SYNC_RESULT_COHERENT);
            C(MEMPHYS_SYNC_RESULT_COHERENT_ARCH);
            C(MEMPHYS_IOC_EXPORT_DMABUF);
            S(memphys_dmabuf_export);
            O(memphys_dmabuf_export, offset); O(memphys_dmabuf_export, length); O(memphys_dmabuf_export, flags);
            O(memphys_dmabuf_export, fd); O(memphys_dmabuf_export, reserved);
            C(O_RDONLY); C(O_WRONLY); C(O_RDWR); C(O_CLOEXEC);
            C(PROT_NONE); C(PROT_READ); C(PROT_WRITE);
            C(MAP_SHARED); C(MAP_PRIVATE); C(MAP_FIXED); C(MAP_ANONYMOUS); C(MAP_NORESERVE); C(MAP_POPULATE);
            C(MS_ASYNC); C(MS_INVALIDATE); C(MS_SYNC);
            C(MADV_NORMAL); C(MADV_DONTNEED); C(MADV_HUGEPAGE); C(MADV_NOHUGEPAGE);
            return 0;
        }
        """;

    private static Dictionary<string, ulong> CompileAndRun()
    {
        string? root = TestPaths.RepoRoot();
        string? gcc = TestPaths.Which("gcc") ?? TestPaths.Which("cc");
        if (root is null || !File.Exists(Path.Combine(root, TestPaths.UapiHeaderRelative)))
        {
            throw new InvalidOperationException($"UAPI header {TestPaths.UapiHeaderRelative} not found above {AppContext.BaseDirectory}");
        }

        if (gcc is null)
        {
            throw new InvalidOperationException("gcc not found on PATH");
        }

        string dir = Directory.CreateTempSubdirectory("memphys-uapi-").FullName;
        try
        {
            string source = Path.Combine(dir, "layout.c");
            string exe = Path.Combine(dir, "layout");
            File.WriteAllText(source, Program);
            Run(gcc, ["-std=gnu11", "-Wall", "-Werror", "-I", Path.Combine(root, "driver/include/uapi"), "-o", exe, source]);
            string output = Run(exe, []);
            var values = new Dictionary<string, ulong>();
            foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                int space = line.LastIndexOf(' ');
                values[line[..space]] = ulong.Parse(line[(space + 1)..], System.Globalization.CultureInfo.InvariantCulture);
            }

            return values;
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string Run(string file, string[] args)
    {
        ProcessResult result = ProcessRunner.Run(file, args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited {result.ExitCode}: {result.Stderr}");
        }

        return result.Stdout;
    }

    private static ulong C(string name) =>
        s_c.Value.TryGetValue(name, out ulong v) ? v : throw new KeyNotFoundException($"C program did not print '{name}'");

    private static ulong Offset<T>(string field) => (ulong)Marshal.OffsetOf<T>(field).ToInt64();

    public static TheoryData<string, string> InfoFields => new()
    {
        { "size", nameof(MemphysInfoNative.Size) }, { "version", nameof(MemphysInfoNative.Version) },
        { "index", nameof(MemphysInfoNative.Index) }, { "page_size", nameof(MemphysInfoNative.PageSize) },
        { "phys_base", nameof(MemphysInfoNative.PhysBase) }, { "region_size", nameof(MemphysInfoNative.RegionSize) },
        { "methods", nameof(MemphysInfoNative.Methods) }, { "caching_modes", nameof(MemphysInfoNative.CachingModes) },
        { "fault_sizes", nameof(MemphysInfoNative.FaultSizes) }, { "method", nameof(MemphysInfoNative.Method) },
        { "caching", nameof(MemphysInfoNative.Caching) }, { "reserved0", nameof(MemphysInfoNative.Reserved0) },
        { "max_fault_size", nameof(MemphysInfoNative.MaxFaultSize) }, { "fault_around", nameof(MemphysInfoNative.FaultAround) },
        { "pages_errno", nameof(MemphysInfoNative.PagesErrno) }, { "reserved", nameof(MemphysInfoNative.Reserved) },
    };

    public static TheoryData<string, string> StatsFields => new()
    {
        { "size", nameof(MemphysStatsNative.Size) }, { "version", nameof(MemphysStatsNative.Version) },
        { "mmap_calls", nameof(MemphysStatsNative.MmapCalls) }, { "bytes_remapped", nameof(MemphysStatsNative.BytesRemapped) },
        { "pte_faults", nameof(MemphysStatsNative.PteFaults) }, { "pmd_faults", nameof(MemphysStatsNative.PmdFaults) },
        { "pud_faults", nameof(MemphysStatsNative.PudFaults) }, { "fallback_faults", nameof(MemphysStatsNative.FallbackFaults) },
        { "refused", nameof(MemphysStatsNative.Refused) }, { "prefaulted", nameof(MemphysStatsNative.Prefaulted) },
        { "reserved", nameof(MemphysStatsNative.Reserved) },
    };

    [Fact]
    public void StructSizesMatch()
    {
        Assert.Equal(C("sizeof memphys_info"), (ulong)Unsafe.SizeOf<MemphysInfoNative>());
        Assert.Equal(C("sizeof memphys_setting"), (ulong)Unsafe.SizeOf<MemphysSettingNative>());
        Assert.Equal(C("sizeof memphys_stats"), (ulong)Unsafe.SizeOf<MemphysStatsNative>());
        Assert.Equal(C("sizeof memphys_page_query"), (ulong)Unsafe.SizeOf<MemphysPageQueryNative>());
        Assert.Equal(C("sizeof memphys_dmabuf_export"), (ulong)Unsafe.SizeOf<MemphysDmaBufExportNative>());
        Assert.Equal(C("sizeof memphys_info"), (ulong)Marshal.SizeOf<MemphysInfoNative>());
        Assert.Equal(C("sizeof memphys_stats"), (ulong)Marshal.SizeOf<MemphysStatsNative>());
    }

    [Theory]
    [MemberData(nameof(InfoFields))]
    public void InfoOffsetsMatch(string cField, string csField) =>
        Assert.Equal(C($"offsetof memphys_info.{cField}"), Offset<MemphysInfoNative>(csField));

    [Theory]
    [MemberData(nameof(StatsFields))]
    public void StatsOffsetsMatch(string cField, string csField) =>
        Assert.Equal(C($"offsetof memphys_stats.{cField}"), Offset<MemphysStatsNative>(csField));

    public static TheoryData<string, string> PageQueryFields => new()
    {
        { "address", nameof(MemphysPageQueryNative.Address) }, { "pfn", nameof(MemphysPageQueryNative.Pfn) },
        { "flags", nameof(MemphysPageQueryNative.Flags) }, { "memtype", nameof(MemphysPageQueryNative.MemType) },
        { "entry_size", nameof(MemphysPageQueryNative.EntrySize) }, { "reserved", nameof(MemphysPageQueryNative.Reserved) },
    };

    [Theory]
    [MemberData(nameof(PageQueryFields))]
    public void PageQueryOffsetsMatch(string cField, string csField) =>
        Assert.Equal(C($"offsetof memphys_page_query.{cField}"), Offset<MemphysPageQueryNative>(csField));

    public static TheoryData<string, string> SyncFields => new()
    {
        { "offset", nameof(MemphysSyncNative.Offset) }, { "length", nameof(MemphysSyncNative.Length) },
        { "direction", nameof(MemphysSyncNative.Direction) }, { "flags", nameof(MemphysSyncNative.Flags) },
        { "result", nameof(MemphysSyncNative.Result) }, { "reserved", nameof(MemphysSyncNative.Reserved) },
    };

    [Theory]
    [MemberData(nameof(SyncFields))]
    public void SyncOffsetsMatch(string cField, string csField) =>
        Assert.Equal(C($"offsetof memphys_sync.{cField}"), Offset<MemphysSyncNative>(csField));

    [Fact]
    public void SyncConstantsMatch()
    {
        Assert.Equal(C("sizeof memphys_sync"), (ulong)Unsafe.SizeOf<MemphysSyncNative>());
        Assert.Equal(C("MEMPHYS_SYNC_BIDIRECTIONAL"), Uapi.SyncBidirectional);
        Assert.Equal(C("MEMPHYS_SYNC_TO_DEVICE"), Uapi.SyncToDevice);
        Assert.Equal(C("MEMPHYS_SYNC_FROM_DEVICE"), Uapi.SyncFromDevice);
        Assert.Equal(C("MEMPHYS_SYNC_RESULT_DONE"), Uapi.SyncResultDone);
        Assert.Equal(C("MEMPHYS_SYNC_RESULT_UNCACHED"), Uapi.SyncResultUncached);
        Assert.Equal(C("MEMPHYS_SYNC_RESULT_COHERENT"), Uapi.SyncResultCoherent);
        Assert.Equal(C("MEMPHYS_SYNC_RESULT_COHERENT_ARCH"), Uapi.SyncResultCoherentArch);
        Assert.Equal(Uapi.SyncBidirectional, (uint)SyncDirection.Bidirectional);
        Assert.Equal(Uapi.SyncToDevice, (uint)SyncDirection.ToDevice);
        Assert.Equal(Uapi.SyncFromDevice, (uint)SyncDirection.FromDevice);
        Assert.Equal(Uapi.SyncResultDone, (uint)SyncResult.Performed);
        Assert.Equal(Uapi.SyncResultUncached, (uint)SyncResult.NotNeededUncached);
        Assert.Equal(Uapi.SyncResultCoherent, (uint)SyncResult.NotNeededCoherentDevice);
        Assert.Equal(Uapi.SyncResultCoherentArch, (uint)SyncResult.NotNeededCoherentArchitecture);
    }
    public static TheoryData<string, string> DmaBufExportFields => new()
    {
        { "offset", nameof(MemphysDmaBufExportNative.Offset) }, { "length", nameof(MemphysDmaBufExportNative.Length) },
        { "flags", nameof(MemphysDmaBufExportNative.Flags) }, { "fd", nameof(MemphysDmaBufExportNative.Fd) },
        { "reserved", nameof(MemphysDmaBufExportNative.Reserved) },
    };

    [Theory]
    [MemberData(nameof(DmaBufExportFields))]
    public void DmaBufExportOffsetsMatch(string cField, string csField) =>
        Assert.Equal(C($"offsetof memphys_dmabuf_export.{cField}"), Offset<MemphysDmaBufExportNative>(csField));

    [Fact]
    public void SettingOffsetsMatch()
    {
        Assert.Equal(C("offsetof memphys_setting.value"), Offset<MemphysSettingNative>(nameof(MemphysSettingNative.Value)));
        Assert.Equal(C("offsetof memphys_setting.reserved"), Offset<MemphysSettingNative>(nameof(MemphysSettingNative.Reserved)));
    }

    [Fact]
    public void RequestNumbersMatch()
    {
        Assert.Equal(C("MEMPHYS_IOC_MAGIC"), Uapi.IocMagic);
        Assert.Equal(C("MEMPHYS_IOC_GET_INFO"), Uapi.IocGetInfo);
        Assert.Equal(C("MEMPHYS_IOC_SET_METHOD"), Uapi.IocSetMethod);
        Assert.Equal(C("MEMPHYS_IOC_SET_CACHING"), Uapi.IocSetCaching);
        Assert.Equal(C("MEMPHYS_IOC_SET_MAX_FAULT"), Uapi.IocSetMaxFault);
        Assert.Equal(C("MEMPHYS_IOC_GET_STATS"), Uapi.IocGetStats);
        Assert.Equal(C("MEMPHYS_IOC_RESET_STATS"), Uapi.IocResetStats);
        Assert.Equal(C("MEMPHYS_IOC_QUERY_PAGE"), Uapi.IocQueryPage);
        Assert.Equal(C("MEMPHYS_IOC_SET_FAULT_AROUND"), Uapi.IocSetFaultAround);
        Assert.Equal(C("MEMPHYS_IOC_SYNC"), Uapi.IocSync);
        Assert.Equal(C("MEMPHYS_IOC_EXPORT_DMABUF"), Uapi.IocExportDmaBuf);
    }

    [Fact]
    public void ConstantsMatch()
    {
        Assert.Equal(C("MEMPHYS_UAPI_VERSION"), Uapi.UapiVersion);
        Assert.Equal(C("MEMPHYS_METHOD_REMAP"), Uapi.MethodRemap);
        Assert.Equal(C("MEMPHYS_METHOD_FAULT"), Uapi.MethodFault);
        Assert.Equal(C("MEMPHYS_METHOD_PAGES"), Uapi.MethodPages);
        Assert.Equal(C("MEMPHYS_METHOD_COUNT"), Uapi.MethodCount);
        Assert.Equal(C("MEMPHYS_CACHE_WB"), Uapi.CacheWb);
        Assert.Equal(C("MEMPHYS_CACHE_WC"), Uapi.CacheWc);
        Assert.Equal(C("MEMPHYS_CACHE_UC"), Uapi.CacheUc);
        Assert.Equal(C("MEMPHYS_CACHE_COUNT"), Uapi.CacheCount);
        Assert.Equal(C("MEMPHYS_FAULT_4K"), Uapi.Fault4K);
        Assert.Equal(C("MEMPHYS_FAULT_2M"), Uapi.Fault2M);
        Assert.Equal(C("MEMPHYS_FAULT_1G"), Uapi.Fault1G);
        Assert.Equal(C("MEMPHYS_SIZE_4K"), Uapi.Size4K);
        Assert.Equal(C("MEMPHYS_SIZE_2M"), Uapi.Size2M);
        Assert.Equal(C("MEMPHYS_SIZE_1G"), Uapi.Size1G);
        Assert.Equal(C("MEMPHYS_FAULT_AROUND_MAX"), Uapi.FaultAroundMax);
        Assert.Equal(C("MEMPHYS_FAULT_AROUND_MAX"), MemphysDevice.MaxFaultAround);
        Assert.Equal(C("MEMPHYS_PAGE_PRESENT"), Uapi.PagePresent);
        Assert.Equal(C("MEMPHYS_PAGE_WRITE"), Uapi.PageWrite);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WB"), Uapi.MemTypeWb);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WC"), Uapi.MemTypeWc);
        Assert.Equal(C("MEMPHYS_MEMTYPE_UC"), Uapi.MemTypeUc);
        Assert.Equal(C("MEMPHYS_MEMTYPE_UC_MINUS"), Uapi.MemTypeUcMinus);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WT"), Uapi.MemTypeWt);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WP"), Uapi.MemTypeWp);
        Assert.Equal(C("MEMPHYS_MEMTYPE_UNKNOWN"), Uapi.MemTypeUnknown);

        // The public enums and constants mirror the same values.
        Assert.Equal(C("MEMPHYS_METHOD_REMAP"), (ulong)MappingMethod.Remap);
        Assert.Equal(C("MEMPHYS_METHOD_FAULT"), (ulong)MappingMethod.Fault);
        Assert.Equal(C("MEMPHYS_METHOD_PAGES"), (ulong)MappingMethod.Pages);
        Assert.Equal(C("MEMPHYS_METHOD_COUNT"), (ulong)Enum.GetValues<MappingMethod>().Length);
        Assert.Equal(C("MEMPHYS_CACHE_WB"), (ulong)CachingMode.WriteBack);
        Assert.Equal(C("MEMPHYS_CACHE_WC"), (ulong)CachingMode.WriteCombining);
        Assert.Equal(C("MEMPHYS_CACHE_UC"), (ulong)CachingMode.Uncached);
        Assert.Equal(C("MEMPHYS_CACHE_COUNT"), (ulong)Enum.GetValues<CachingMode>().Length);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WB"), (ulong)MemoryType.WriteBack);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WC"), (ulong)MemoryType.WriteCombining);
        Assert.Equal(C("MEMPHYS_MEMTYPE_UC"), (ulong)MemoryType.Uncached);
        Assert.Equal(C("MEMPHYS_MEMTYPE_UC_MINUS"), (ulong)MemoryType.UncachedMinus);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WT"), (ulong)MemoryType.WriteThrough);
        Assert.Equal(C("MEMPHYS_MEMTYPE_WP"), (ulong)MemoryType.WriteProtected);
        Assert.Equal(C("MEMPHYS_MEMTYPE_UNKNOWN"), (ulong)MemoryType.Unknown);
        Assert.Equal(C("MEMPHYS_FAULT_4K"), (ulong)FaultSizes.Pte4K);
        Assert.Equal(C("MEMPHYS_FAULT_2M"), (ulong)FaultSizes.Pmd2M);
        Assert.Equal(C("MEMPHYS_FAULT_1G"), (ulong)FaultSizes.Pud1G);
        Assert.Equal(C("MEMPHYS_SIZE_4K"), (ulong)FaultSize.Pte);
        Assert.Equal(C("MEMPHYS_SIZE_2M"), (ulong)FaultSize.Pmd);
        Assert.Equal(C("MEMPHYS_SIZE_1G"), (ulong)FaultSize.Pud);
    }

    [Fact]
    public void LibcConstantsMatch()
    {
        Assert.Equal(C("O_RDONLY"), (ulong)Interop.Libc.O_RDONLY);
        Assert.Equal(C("O_WRONLY"), (ulong)Interop.Libc.O_WRONLY);
        Assert.Equal(C("O_RDWR"), (ulong)Interop.Libc.O_RDWR);
        Assert.Equal(C("O_CLOEXEC"), (ulong)Interop.Libc.O_CLOEXEC);
        Assert.Equal(C("PROT_NONE"), (ulong)Interop.Libc.PROT_NONE);
        Assert.Equal(C("PROT_READ"), (ulong)Interop.Libc.PROT_READ);
        Assert.Equal(C("PROT_WRITE"), (ulong)Interop.Libc.PROT_WRITE);
        Assert.Equal(C("PROT_READ"), (ulong)MapProtection.Read);
        Assert.Equal(C("PROT_WRITE"), (ulong)MapProtection.Write);
        Assert.Equal(C("MAP_SHARED"), (ulong)Interop.Libc.MAP_SHARED);
        Assert.Equal(C("MAP_PRIVATE"), (ulong)Interop.Libc.MAP_PRIVATE);
        Assert.Equal(C("MAP_FIXED"), (ulong)Interop.Libc.MAP_FIXED);
        Assert.Equal(C("MAP_ANONYMOUS"), (ulong)Interop.Libc.MAP_ANONYMOUS);
        Assert.Equal(C("MAP_NORESERVE"), (ulong)Interop.Libc.MAP_NORESERVE);
        Assert.Equal(C("MAP_POPULATE"), (ulong)Interop.Libc.MAP_POPULATE);
        Assert.Equal(C("MS_ASYNC"), (ulong)Interop.Libc.MS_ASYNC);
        Assert.Equal(C("MS_INVALIDATE"), (ulong)Interop.Libc.MS_INVALIDATE);
        Assert.Equal(C("MS_SYNC"), (ulong)Interop.Libc.MS_SYNC);
        Assert.Equal(C("MADV_NORMAL"), (ulong)Interop.Libc.MADV_NORMAL);
        Assert.Equal(C("MADV_DONTNEED"), (ulong)Interop.Libc.MADV_DONTNEED);
        Assert.Equal(C("MADV_HUGEPAGE"), (ulong)Interop.Libc.MADV_HUGEPAGE);
        Assert.Equal(C("MADV_NOHUGEPAGE"), (ulong)Interop.Libc.MADV_NOHUGEPAGE);
    }
}
