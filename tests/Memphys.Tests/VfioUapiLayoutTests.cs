using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys.Tests;

/// <summary>
/// Compiles a C program against <c>linux/vfio.h</c> (the system's, and every guest kernel's the cache holds) and
/// checks the VFIO layer's request numbers, flags, struct sizes and field offsets against it.
/// </summary>
public sealed class VfioUapiLayoutTests
{
    private const string Program = """
        #include <stdio.h>
        #include <stddef.h>
        #include <linux/vfio.h>
        #define P(name, expr) printf("%s %llu\n", name, (unsigned long long)(expr))
        #define S(t) P("sizeof " #t, sizeof(struct t))
        #define O(t, f) P("offsetof " #t "." #f, offsetof(struct t, f))
        #define C(x) P(#x, x)
        int main(void) {
            C(VFIO_API_VERSION); C(VFIO_TYPE1_IOMMU); C(VFIO_TYPE1v2_IOMMU);
            C(VFIO_GET_API_VERSION); C(VFIO_CHECK_EXTENSION); C(VFIO_SET_IOMMU); C(VFIO_GROUP_GET_STATUS);
            C(VFIO_GROUP_SET_CONTAINER); C(VFIO_GROUP_UNSET_CONTAINER); C(VFIO_GROUP_GET_DEVICE_FD);
            C(VFIO_DEVICE_GET_INFO); C(VFIO_DEVICE_GET_REGION_INFO); C(VFIO_DEVICE_RESET);
            C(VFIO_IOMMU_MAP_DMA); C(VFIO_IOMMU_UNMAP_DMA);
            C(VFIO_GROUP_FLAGS_VIABLE); C(VFIO_GROUP_FLAGS_CONTAINER_SET); C(VFIO_DEVICE_FLAGS_RESET); C(VFIO_DEVICE_FLAGS_PCI);
            C(VFIO_REGION_INFO_FLAG_READ); C(VFIO_REGION_INFO_FLAG_WRITE); C(VFIO_REGION_INFO_FLAG_MMAP);
            C(VFIO_DMA_MAP_FLAG_READ); C(VFIO_DMA_MAP_FLAG_WRITE);
            C(VFIO_PCI_BAR0_REGION_INDEX); C(VFIO_PCI_CONFIG_REGION_INDEX);
            S(vfio_group_status); O(vfio_group_status, argsz); O(vfio_group_status, flags);
            S(vfio_device_info); O(vfio_device_info, flags); O(vfio_device_info, num_regions); O(vfio_device_info, num_irqs);
            O(vfio_device_info, cap_offset);
            S(vfio_region_info); O(vfio_region_info, flags); O(vfio_region_info, index); O(vfio_region_info, cap_offset);
            O(vfio_region_info, size); O(vfio_region_info, offset);
            S(vfio_iommu_type1_dma_map); O(vfio_iommu_type1_dma_map, flags); O(vfio_iommu_type1_dma_map, vaddr);
            O(vfio_iommu_type1_dma_map, iova); O(vfio_iommu_type1_dma_map, size);
            S(vfio_iommu_type1_dma_unmap); O(vfio_iommu_type1_dma_unmap, flags); O(vfio_iommu_type1_dma_unmap, iova);
            O(vfio_iommu_type1_dma_unmap, size);
            return 0;
        }
        """;

    /// <summary>The include folders to check: the system's, and each cached guest kernel's uapi headers.</summary>
    public static TheoryData<string> Headers()
    {
        var data = new TheoryData<string> { "/usr/include" };
        string cache = Environment.GetEnvironmentVariable("MEMPHYS_CACHE_DIR") is { Length: > 0 } c ? c
            : Path.Combine(TestPaths.RepoRoot() ?? ".", ".cache");
        if (Directory.Exists(cache))
        {
            foreach (string header in Directory.EnumerateFiles(cache, "vfio.h", new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 12 })
                .Where(h => h.EndsWith("/include/uapi/linux/vfio.h", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
            {
                data.Add(Path.GetDirectoryName(Path.GetDirectoryName(header))!);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Headers))]
    public void RequestsFlagsAndLayoutsMatchTheHeader(string includeDir)
    {
        Dictionary<string, ulong> c = CompileAndRun(includeDir);
        ulong C(string name) => c.TryGetValue(name, out ulong v) ? v : throw new KeyNotFoundException($"C program did not print '{name}'");
        ulong O<T>(string field) => (ulong)Marshal.OffsetOf<T>(field).ToInt64();

        Assert.Equal(C("VFIO_API_VERSION"), (ulong)VfioUapi.ApiVersion);
        Assert.Equal(C("VFIO_TYPE1_IOMMU"), VfioUapi.Type1Iommu);
        Assert.Equal(C("VFIO_TYPE1v2_IOMMU"), VfioUapi.Type1v2Iommu);
        Assert.Equal(C("VFIO_GET_API_VERSION"), VfioUapi.GetApiVersion);
        Assert.Equal(C("VFIO_CHECK_EXTENSION"), VfioUapi.CheckExtension);
        Assert.Equal(C("VFIO_SET_IOMMU"), VfioUapi.SetIommu);
        Assert.Equal(C("VFIO_GROUP_GET_STATUS"), VfioUapi.GroupGetStatus);
        Assert.Equal(C("VFIO_GROUP_SET_CONTAINER"), VfioUapi.GroupSetContainer);
        Assert.Equal(C("VFIO_GROUP_UNSET_CONTAINER"), VfioUapi.GroupUnsetContainer);
        Assert.Equal(C("VFIO_GROUP_GET_DEVICE_FD"), VfioUapi.GroupGetDeviceFd);
        Assert.Equal(C("VFIO_DEVICE_GET_INFO"), VfioUapi.DeviceGetInfo);
        Assert.Equal(C("VFIO_DEVICE_GET_REGION_INFO"), VfioUapi.DeviceGetRegionInfo);
        Assert.Equal(C("VFIO_DEVICE_RESET"), VfioUapi.DeviceReset);
        Assert.Equal(C("VFIO_IOMMU_MAP_DMA"), VfioUapi.IommuMapDma);
        Assert.Equal(C("VFIO_IOMMU_UNMAP_DMA"), VfioUapi.IommuUnmapDma);
        Assert.Equal(C("VFIO_GROUP_FLAGS_VIABLE"), VfioUapi.GroupFlagsViable);
        Assert.Equal(C("VFIO_GROUP_FLAGS_CONTAINER_SET"), VfioUapi.GroupFlagsContainerSet);
        Assert.Equal(C("VFIO_DEVICE_FLAGS_RESET"), VfioUapi.DeviceFlagsReset);
        Assert.Equal(C("VFIO_DEVICE_FLAGS_PCI"), VfioUapi.DeviceFlagsPci);
        Assert.Equal(C("VFIO_REGION_INFO_FLAG_READ"), VfioUapi.RegionInfoFlagRead);
        Assert.Equal(C("VFIO_REGION_INFO_FLAG_WRITE"), VfioUapi.RegionInfoFlagWrite);
        Assert.Equal(C("VFIO_REGION_INFO_FLAG_MMAP"), VfioUapi.RegionInfoFlagMmap);
        Assert.Equal(C("VFIO_DMA_MAP_FLAG_READ"), VfioUapi.DmaMapFlagRead);
        Assert.Equal(C("VFIO_DMA_MAP_FLAG_WRITE"), VfioUapi.DmaMapFlagWrite);
        Assert.Equal(C("VFIO_PCI_BAR0_REGION_INDEX"), VfioUapi.PciBar0RegionIndex);
        Assert.Equal(C("VFIO_PCI_CONFIG_REGION_INDEX"), VfioUapi.PciConfigRegionIndex);

        Assert.Equal(C("sizeof vfio_group_status"), (ulong)Unsafe.SizeOf<VfioGroupStatusNative>());
        Assert.Equal(C("offsetof vfio_group_status.flags"), O<VfioGroupStatusNative>(nameof(VfioGroupStatusNative.Flags)));

        // 6.1's struct ends at cap_offset (20 bytes), later ones have a pad (24): ours is the longer, which argsz tells.
        Assert.True(C("sizeof vfio_device_info") <= (ulong)Unsafe.SizeOf<VfioDeviceInfoNative>());
        Assert.Equal(C("offsetof vfio_device_info.flags"), O<VfioDeviceInfoNative>(nameof(VfioDeviceInfoNative.Flags)));
        Assert.Equal(C("offsetof vfio_device_info.num_regions"), O<VfioDeviceInfoNative>(nameof(VfioDeviceInfoNative.NumRegions)));
        Assert.Equal(C("offsetof vfio_device_info.num_irqs"), O<VfioDeviceInfoNative>(nameof(VfioDeviceInfoNative.NumIrqs)));
        Assert.Equal(C("offsetof vfio_device_info.cap_offset"), O<VfioDeviceInfoNative>(nameof(VfioDeviceInfoNative.CapOffset)));

        Assert.Equal(C("sizeof vfio_region_info"), (ulong)Unsafe.SizeOf<VfioRegionInfoNative>());
        Assert.Equal(C("offsetof vfio_region_info.flags"), O<VfioRegionInfoNative>(nameof(VfioRegionInfoNative.Flags)));
        Assert.Equal(C("offsetof vfio_region_info.index"), O<VfioRegionInfoNative>(nameof(VfioRegionInfoNative.Index)));
        Assert.Equal(C("offsetof vfio_region_info.cap_offset"), O<VfioRegionInfoNative>(nameof(VfioRegionInfoNative.CapOffset)));
        Assert.Equal(C("offsetof vfio_region_info.size"), O<VfioRegionInfoNative>(nameof(VfioRegionInfoNative.Size)));
        Assert.Equal(C("offsetof vfio_region_info.offset"), O<VfioRegionInfoNative>(nameof(VfioRegionInfoNative.Offset)));

        Assert.Equal(C("sizeof vfio_iommu_type1_dma_map"), (ulong)Unsafe.SizeOf<VfioDmaMapNative>());
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_map.flags"), O<VfioDmaMapNative>(nameof(VfioDmaMapNative.Flags)));
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_map.vaddr"), O<VfioDmaMapNative>(nameof(VfioDmaMapNative.Vaddr)));
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_map.iova"), O<VfioDmaMapNative>(nameof(VfioDmaMapNative.Iova)));
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_map.size"), O<VfioDmaMapNative>(nameof(VfioDmaMapNative.Size)));

        Assert.Equal(C("sizeof vfio_iommu_type1_dma_unmap"), (ulong)Unsafe.SizeOf<VfioDmaUnmapNative>());
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_unmap.flags"), O<VfioDmaUnmapNative>(nameof(VfioDmaUnmapNative.Flags)));
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_unmap.iova"), O<VfioDmaUnmapNative>(nameof(VfioDmaUnmapNative.Iova)));
        Assert.Equal(C("offsetof vfio_iommu_type1_dma_unmap.size"), O<VfioDmaUnmapNative>(nameof(VfioDmaUnmapNative.Size)));
    }

    private static Dictionary<string, ulong> CompileAndRun(string includeDir)
    {
        string? gcc = TestPaths.Which("gcc") ?? TestPaths.Which("cc");
        Assert.True(gcc is not null, "gcc not found on PATH");
        string dir = Directory.CreateTempSubdirectory("memphys-vfio-uapi-").FullName;
        try
        {
            // A guest kernel's header is copied alone under linux/: its <linux/types.h> and ioctl macros stay the system's;
            // a kernel tree's uapi header still carries __user, which installing headers strips.
            string include = Path.Combine(dir, "include");
            Directory.CreateDirectory(Path.Combine(include, "linux"));
            File.Copy(Path.Combine(includeDir, "linux", "vfio.h"), Path.Combine(include, "linux", "vfio.h"));
            string source = Path.Combine(dir, "layout.c");
            string exe = Path.Combine(dir, "layout");
            File.WriteAllText(source, Program);
            ProcessResult build = ProcessRunner.Run(gcc, ["-std=gnu11", "-Wall", "-Werror", "-D__user=", "-I", include, "-o", exe, source]);
            Assert.True(build.ExitCode == 0, $"gcc against {includeDir}: {build.Output}");
            ProcessResult run = ProcessRunner.Run(exe, []);
            Assert.Equal(0, run.ExitCode);
            return run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(
                l => l[..l.LastIndexOf(' ')], l => ulong.Parse(l[(l.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
