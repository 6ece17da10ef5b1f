namespace Memphys;

/// <summary>Short names of the memory and caching types, as the kernel and the CLI print them.</summary>
/// <remarks>Pure functions: thread-safe.</remarks>
public static class MemoryTypeNames
{
    /// <summary>WB, WC, UC, UC-, WT, WP or ?.</summary>
    public static string Short(this MemoryType type) => type switch
    {
        MemoryType.WriteBack => "WB",
        MemoryType.WriteCombining => "WC",
        MemoryType.Uncached => "UC",
        MemoryType.UncachedMinus => "UC-",
        MemoryType.WriteThrough => "WT",
        MemoryType.WriteProtected => "WP",
        _ => "?",
    };

    /// <summary>
    /// Whether an entry of this type is what a region of <paramref name="mode"/> must get: WB for wb, WC for wc,
    /// UC or UC- for uc; <see cref="MemoryType.Unknown"/> (not decoded on this architecture) always passes.
    /// </summary>
    public static bool Honours(this MemoryType type, CachingMode mode) => type == MemoryType.Unknown || mode switch
    {
        CachingMode.WriteBack => type == MemoryType.WriteBack,
        CachingMode.WriteCombining => type == MemoryType.WriteCombining,
        _ => type is MemoryType.Uncached or MemoryType.UncachedMinus,
    };

    /// <summary>wb, wc or uc: the name in <c>regions=SIZE@BASE:TYPE</c> and sysfs <c>caching</c>.</summary>
    public static string ParameterName(this CachingMode mode) => mode switch
    {
        CachingMode.WriteBack => "wb",
        CachingMode.WriteCombining => "wc",
        CachingMode.Uncached => "uc",
        _ => mode.ToString(),
    };
}
