namespace Memphys.Verification;

/// <summary>Options of <see cref="RegionVerifier.Run(string, VerifyOptions)"/>.</summary>
/// <remarks>Immutable (init-only); safe to share between threads.</remarks>
public sealed record VerifyOptions
{
    /// <summary>Region offset of the range to check (page-aligned).</summary>
    public long Offset { get; init; }

    /// <summary>Bytes to check (whole pages, within the region).</summary>
    public long Length { get; init; } = 16L << 20;

    /// <summary>Pattern seed (non-zero).</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Fault-around of the 4 KiB fault-method mapping (pages per fault); 0 keeps the driver's default.</summary>
    public uint FaultAround { get; init; }

    /// <summary>
    /// Runs the second-process check in another process and records into the check; null skips that check.
    /// The CLI runs itself (<c>memphys _child read</c>).
    /// </summary>
    public Action<SecondProcessRequest, Check>? SecondProcess { get; init; }
}
