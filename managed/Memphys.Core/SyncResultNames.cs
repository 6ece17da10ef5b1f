namespace Memphys;

/// <summary>Text for <see cref="SyncResult"/> and <see cref="SyncDirection"/>, as the CLI prints and parses them.</summary>
internal static class SyncResultNames
{
    /// <summary>One line saying what a sync did or why nothing was needed.</summary>
    public static string Describe(this SyncResult result) => result switch
    {
        SyncResult.Performed => "performed: the data cache lines of the range were maintained",
        SyncResult.NotNeededUncached => "not needed: a wc or uc region is never cached",
        SyncResult.NotNeededCoherentDevice => "not needed: the device-tree node is dma-coherent",
        SyncResult.NotNeededCoherentArchitecture => "not needed: DMA snoops the CPU caches on this architecture",
        _ => $"result {(uint)result}",
    };

    /// <summary>The short name used in JSON and on the command line (<c>to-device</c>, ...).</summary>
    public static string ParameterName(this SyncDirection direction) => direction switch
    {
        SyncDirection.ToDevice => "to-device",
        SyncDirection.FromDevice => "from-device",
        _ => "bidirectional",
    };

    /// <summary>Parses <c>to-device</c>, <c>from-device</c> or <c>bidirectional</c>; false for anything else.</summary>
    public static bool TryParseDirection(string text, out SyncDirection direction)
    {
        foreach (SyncDirection d in Enum.GetValues<SyncDirection>())
        {
            if (string.Equals(text, d.ParameterName(), StringComparison.Ordinal))
            {
                direction = d;
                return true;
            }
        }

        direction = default;
        return false;
    }
}
