namespace Memphys;

/// <summary>
/// Caching of a region (<c>MEMPHYS_CACHE_*</c>): chosen when the module is loaded
/// (<c>regions=SIZE@BASE:wb|wc|uc</c>) and the same for every mapping of the region.
/// </summary>
public enum CachingMode : uint
{
    /// <summary>Write-back (the default).</summary>
    WriteBack = 0,

    /// <summary>Write-combining.</summary>
    WriteCombining = 1,

    /// <summary>Uncached.</summary>
    Uncached = 2,
}
