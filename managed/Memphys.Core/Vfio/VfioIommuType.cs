namespace Memphys.Vfio;

/// <summary>The IOMMU models of a VFIO container (<c>VFIO_SET_IOMMU</c>) this layer drives.</summary>
internal enum VfioIommuType : uint
{
    /// <summary><c>VFIO_TYPE1_IOMMU</c>: map/unmap of process memory at chosen IOVAs.</summary>
    Type1 = 1,

    /// <summary><c>VFIO_TYPE1v2_IOMMU</c>: type1 whose unmaps must cover whole earlier maps (the one QEMU uses).</summary>
    Type1v2 = 3,
}
