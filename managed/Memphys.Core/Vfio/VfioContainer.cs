using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys.Vfio;

/// <summary>
/// A VFIO container (<c>/dev/vfio/vfio</c>): the IOMMU context that groups are attached to, and in which process
/// memory is given IOVAs (<see cref="MapDma(MemphysMapping, ulong, VfioDmaAccess)"/>) that the attached devices may
/// reach. The container stays open until it is disposed and every <see cref="VfioDmaMapping"/> made in it is.
/// </summary>
internal sealed unsafe class VfioContainer : IDisposable
{
    /// <summary>The container node.</summary>
    public const string DefaultPath = "/dev/vfio/vfio";

    private readonly SafeFileHandle _fd;

    private VfioContainer(string path, SafeFileHandle fd)
    {
        Path = path;
        _fd = fd;
    }

    /// <summary>The container node this was opened from.</summary>
    public string Path { get; }

    /// <summary>The IOMMU model set by <see cref="SetIommu"/>, or null before.</summary>
    public VfioIommuType? IommuType { get; private set; }

    /// <summary>Opens a container and checks that the kernel speaks the VFIO API version this layer was written for.</summary>
    /// <exception cref="MemphysException">ENOENT (no vfio module), EACCES, or EPROTO for another API version.</exception>
    public static VfioContainer Open(string path = DefaultPath)
    {
        Platform.ThrowIfUnsupported();
        var container = new VfioContainer(path, FileDescriptor.Open(path, Interop.Libc.O_RDWR));
        try
        {
            int version = container.IoctlValue(VfioUapi.GetApiVersion, 0, "ioctl VFIO_GET_API_VERSION");
            if (version != VfioUapi.ApiVersion)
            {
                throw new MemphysException(Interop.Errors.EPROTO, "ioctl VFIO_GET_API_VERSION", path,
                    $"reports VFIO API version {version}; this toolkit speaks version {VfioUapi.ApiVersion}");
            }

            return container;
        }
        catch
        {
            container.Dispose();
            throw;
        }
    }

    /// <summary>Whether the kernel offers IOMMU model <paramref name="type"/> (<c>VFIO_CHECK_EXTENSION</c>).</summary>
    public bool Supports(VfioIommuType type) =>
        IoctlValue(VfioUapi.CheckExtension, (nint)type, $"ioctl VFIO_CHECK_EXTENSION {type}") > 0;

    /// <summary>
    /// Sets the IOMMU model (<c>VFIO_SET_IOMMU</c>); at least one group must be attached first. Without
    /// <paramref name="type"/>: type1v2 where offered, else type1.
    /// </summary>
    /// <exception cref="MemphysException">EINVAL when no group is attached yet or the model is not offered (ENODEV when none is).</exception>
    public VfioIommuType SetIommu(VfioIommuType? type = null)
    {
        VfioIommuType chosen = type
            ?? (Supports(VfioIommuType.Type1v2) ? VfioIommuType.Type1v2
                : Supports(VfioIommuType.Type1) ? VfioIommuType.Type1
                : throw new MemphysException(Interop.Errors.ENODEV, "ioctl VFIO_CHECK_EXTENSION", Path,
                    "offers neither type1 nor type1v2 IOMMU model (is vfio_iommu_type1 loaded?)"));
        IoctlValue(VfioUapi.SetIommu, (nint)chosen, $"ioctl VFIO_SET_IOMMU {chosen}");
        IommuType = chosen;
        return chosen;
    }

    /// <summary>
    /// Gives the whole of <paramref name="mapping"/> the IOVA <paramref name="iova"/> (<c>VFIO_IOMMU_MAP_DMA</c>); the
    /// mapping stays mapped in this process until the returned <see cref="VfioDmaMapping"/> is disposed, which unmaps
    /// the IOVA range first, so the device never reaches memory the process no longer maps there.
    /// </summary>
    /// <exception cref="MemphysException">The kernel refused the range: its errno (EFAULT, EINVAL, EEXIST, ENOMEM...).</exception>
    public VfioDmaMapping MapDma(MemphysMapping mapping, ulong iova, VfioDmaAccess access = VfioDmaAccess.ReadWrite)
    {
        ArgumentNullException.ThrowIfNull(mapping);
        bool added = false;
        SafeBuffer buffer = mapping.Buffer;
        using (mapping.Acquire())
        {
            buffer.DangerousAddRef(ref added);
        }

        try
        {
            return MapDma(mapping.BaseAddress, (ulong)mapping.Length, iova, access, buffer);
        }
        catch
        {
            buffer.DangerousRelease();
            throw;
        }
    }

    /// <summary>
    /// Gives <paramref name="length"/> bytes of this process's memory at <paramref name="address"/> the IOVA
    /// <paramref name="iova"/>. Nothing keeps that memory mapped: the caller keeps it so until the returned
    /// <see cref="VfioDmaMapping"/> is disposed (pages VFIO pinned stay pinned until then in any case).
    /// </summary>
    /// <exception cref="MemphysException">The kernel refused the range: its errno.</exception>
    public VfioDmaMapping MapDma(nint address, ulong length, ulong iova, VfioDmaAccess access = VfioDmaAccess.ReadWrite) =>
        MapDma(address, length, iova, access, keepMapped: null);

    private VfioDmaMapping MapDma(nint address, ulong length, ulong iova, VfioDmaAccess access, SafeBuffer? keepMapped)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if ((access & ~VfioDmaAccess.ReadWrite) != 0 || access == 0)
        {
            throw new ArgumentOutOfRangeException(nameof(access), access, "DeviceReads, DeviceWrites or both");
        }

        var map = new VfioDmaMapNative
        {
            ArgSz = (uint)sizeof(VfioDmaMapNative),
            Flags = (uint)access,
            Vaddr = (ulong)address,
            Iova = iova,
            Size = length,
        };
        Ioctl(VfioUapi.IommuMapDma, &map, $"ioctl VFIO_IOMMU_MAP_DMA 0x{address:x}+0x{length:x} at IOVA 0x{iova:x}");
        return new VfioDmaMapping(this, _fd, address, length, iova, access, keepMapped);
    }

    /// <summary><c>VFIO_IOMMU_UNMAP_DMA</c> of [iova, +length); the number of bytes the kernel unmapped.</summary>
    internal ulong UnmapDma(ulong iova, ulong length)
    {
        var unmap = new VfioDmaUnmapNative { ArgSz = (uint)sizeof(VfioDmaUnmapNative), Iova = iova, Size = length };
        Ioctl(VfioUapi.IommuUnmapDma, &unmap, $"ioctl VFIO_IOMMU_UNMAP_DMA IOVA 0x{iova:x}+0x{length:x}");
        return unmap.Size;
    }

    /// <summary>The descriptor, for <see cref="VfioGroup.SetContainer"/>.</summary>
    internal SafeFileHandle Handle => _fd;

    /// <summary>Closes the container once every DMA mapping made in it is disposed too.</summary>
    public void Dispose() => _fd.Dispose();

    private int IoctlValue(uint request, nint value, string operation) =>
        Interop.Errors.ThrowIfNegative(Interop.Libc.IoctlValue(_fd, request, value), operation, Path);

    private void Ioctl(uint request, void* argument, string operation) =>
        Interop.Errors.ThrowIfNegative(Interop.Libc.Ioctl(_fd, request, argument), operation, Path);
}
