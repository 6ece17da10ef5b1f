namespace Memphys;

/// <summary>How the driver serves an mmap of the device (<c>MEMPHYS_METHOD_*</c>).</summary>
public enum MappingMethod : uint
{
    /// <summary>Eager <c>remap_pfn_range</c> in mmap: fully resident after mmap, no faults.</summary>
    Remap = 0,

    /// <summary>Lazy: the fault handler inserts PFNs for touched pages; shared mappings only.</summary>
    Fault = 1,

    /// <summary>
    /// Lazy, with struct pages: the fault handler inserts the ZONE_DEVICE pages of a region loaded with
    /// <c>regions=SIZE@BASE:pages</c>, so the kernel can pin them (O_DIRECT, vmsplice, process_vm_readv);
    /// shared mappings only.
    /// </summary>
    Pages = 2,
}
