namespace Memphys;

/// <summary>Fault sizes the kernel can install (<c>MEMPHYS_FAULT_*</c>).</summary>
[Flags]
public enum FaultSizes : uint
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>4 KiB page-table entries.</summary>
    Pte4K = 1u << 0,

    /// <summary>2 MiB PMD mappings.</summary>
    Pmd2M = 1u << 1,

    /// <summary>1 GiB PUD mappings.</summary>
    Pud1G = 1u << 2,
}
