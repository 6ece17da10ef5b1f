namespace Memphys.Verification;

/// <summary>Writes and compares the seeded <see cref="Pattern"/> over whole mappings, page by page.</summary>
/// <remarks>Stateless and thread-safe; two threads filling the same bytes race as any two writers do.</remarks>
public static class PatternVerifier
{
    private const int FillChunk = 4 << 20;
    private const long ProgressStep = 16 << 20;

    /// <summary>Fills <paramref name="map"/> with the pattern of the region bytes it maps (from <see cref="MemphysMapping.RegionOffset"/>).</summary>
    /// <param name="map">The mapping.</param>
    /// <param name="seed">Pattern seed.</param>
    /// <param name="progress">Receives the fraction done (0 to 1) after each 4 MiB chunk, on the calling thread.</param>
    /// <param name="cancellationToken">Checked before each 4 MiB chunk.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static void Fill(MemphysMapping map, ulong seed, IProgress<double>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(map);
        map.ForEachChunk((chunk, offset) =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            Pattern.Fill(chunk, map.RegionOffset + offset, seed);
            progress?.Report((double)(offset + chunk.Length) / map.Length);
        }, FillChunk);
    }

    /// <summary>
    /// Compares <paramref name="map"/> with the pattern, one failure per bad page (page, first bad region offset,
    /// expected and found byte). Returns the number of bad bytes.
    /// </summary>
    /// <param name="check">Receives one failure per bad page.</param>
    /// <param name="map">The mapping (read-only ones too).</param>
    /// <param name="seed">Pattern seed.</param>
    /// <param name="progress">Receives the fraction done (0 to 1) every 16 MiB, on the calling thread.</param>
    /// <param name="cancellationToken">Checked every 16 MiB.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static long Compare(Check check, MemphysMapping map, ulong seed, IProgress<double>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(map);
        int page = Environment.SystemPageSize;
        long bad = 0;
        map.ForEachReadOnlyChunk((chunk, chunkOffset) =>
        {
            for (int o = 0; o < chunk.Length; o += page)
            {
                ReadOnlySpan<byte> span = chunk.Slice(o, Math.Min(page, chunk.Length - o));
                long region = map.RegionOffset + chunkOffset + o;
                long n = Pattern.Check(span, region, seed, out long firstBad);
                if (n != 0)
                {
                    bad += n;
                    byte found = span[(int)(firstBad - region)];
                    check.Fail($"page {(chunkOffset + o) / page} (region offset 0x{firstBad:x}): {n} bad bytes, " +
                        $"first expected 0x{Pattern.ExpectedByte(firstBad, seed):x2} found 0x{found:x2}");
                }

                if (((chunkOffset + o) % ProgressStep) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    progress?.Report((double)(chunkOffset + o) / map.Length);
                }
            }
        });
        return bad;
    }
}
