namespace Memphys.Verification;

/// <summary>What the workers of <see cref="StressRunner.Run"/> did and found.</summary>
/// <param name="Operations">Write/read-back operations done.</param>
/// <param name="Bytes">Bytes written (and read back).</param>
/// <param name="CorruptBytes">Bytes read back that differed from what was written.</param>
/// <param name="Corruptions">The first corrupt operations (at most <see cref="MaxRecordedCorruptions"/>), one line each.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record StressResult(long Operations, long Bytes, long CorruptBytes, IReadOnlyList<string> Corruptions)
{
    /// <summary>How many corrupt operations a result describes; the rest only count in <see cref="CorruptBytes"/>.</summary>
    public const int MaxRecordedCorruptions = 20;

    /// <summary>No byte read back differed.</summary>
    public bool Passed => CorruptBytes == 0;

    /// <summary>An empty result: no operation yet.</summary>
    internal static StressResult Empty { get; } = new(0, 0, 0, []);

    /// <summary>The sum of two results (of two workers or processes), keeping the first corruptions.</summary>
    internal StressResult Plus(StressResult other) => new(Operations + other.Operations, Bytes + other.Bytes,
        CorruptBytes + other.CorruptBytes, [.. Corruptions.Concat(other.Corruptions).Take(MaxRecordedCorruptions)]);
}
