using System.Runtime.InteropServices;

namespace Memphys.Vfio;

/// <summary>
/// A range of process memory that devices of a <see cref="VfioContainer"/> reach at <see cref="Iova"/>. Disposing
/// unmaps the IOVA range (<c>VFIO_IOMMU_UNMAP_DMA</c>): from then on a device access there is blocked by the IOMMU,
/// and pages VFIO pinned for it are released.
/// </summary>
internal sealed class VfioDmaMapping : IDisposable
{
    private readonly VfioContainer _container;
    private readonly SafeFileHandle _containerFd;
    private readonly SafeBuffer? _keepMapped;
    private int _unmapped;

    internal VfioDmaMapping(VfioContainer container, SafeFileHandle containerFd, nint address, ulong length, ulong iova,
        VfioDmaAccess access, SafeBuffer? keepMapped)
    {
        _container = container;
        _containerFd = containerFd;
        _keepMapped = keepMapped;
        Address = address;
        Length = length;
        Iova = iova;
        Access = access;

        // The container must outlive the IOVA range, or its unmap could not be issued.
        bool added = false;
        _containerFd.DangerousAddRef(ref added);
    }

    /// <summary>The process address of the range.</summary>
    public nint Address { get; }

    /// <summary>Length of the range in bytes.</summary>
    public ulong Length { get; }

    /// <summary>The address devices use for the first byte of the range.</summary>
    public ulong Iova { get; }

    /// <summary>What devices may do there.</summary>
    public VfioDmaAccess Access { get; }

    /// <summary>True once the IOVA range is unmapped.</summary>
    public bool IsUnmapped => Volatile.Read(ref _unmapped) != 0;

    /// <summary>The IOVA of byte <paramref name="offset"/> of the range.</summary>
    public ulong IovaOf(ulong offset)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, Length);
        return Iova + offset;
    }

    /// <summary>Unmaps the IOVA range; the bytes the kernel unmapped (<see cref="Length"/>), or 0 when already unmapped.</summary>
    /// <exception cref="MemphysException">The kernel refused the unmap.</exception>
    public ulong Unmap()
    {
        if (Interlocked.Exchange(ref _unmapped, 1) != 0)
        {
            return 0;
        }

        try
        {
            return _container.UnmapDma(Iova, Length);
        }
        finally
        {
            _keepMapped?.DangerousRelease();
            _containerFd.DangerousRelease();
        }
    }

    /// <summary>Unmaps the IOVA range (<see cref="Unmap"/>).</summary>
    public void Dispose() => Unmap();
}
