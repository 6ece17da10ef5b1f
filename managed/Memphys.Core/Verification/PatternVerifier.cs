namespace Memphys.Verification;

/// <summary>Writes and compares the seeded <see cref="Pattern"/> over whole mappings, page by page.</summary>
public static class PatternVerifier
{
    private const int FillChunk = 4 << 20;
    private const long ProgressStep = 16 << 20;

    /// <summary>Fills <paramref name="map"/> with the pattern of the region bytes it maps (from <see cref="MemphysMapping.RegionOffset"/>).</summary>
    /// <param name="map">The mapping.</param>
    /// <param name="seed">Pattern seed.</param>
    /// <param name="progress">Called with the fraction done.</param>
    public static void Fill(MemphysMapping map, ulong seed, Action<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        map.ForEachChunk((chunk, offset) =>
        {
            Pattern.Fill(chunk, map.RegionOffset + offset, seed);
            progress?.Invoke((double)(offset + chunk.Length) / map.Length);
        }, FillChunk);
    }

    /// <summary>
    /// Compares <paramref name="map"/> with the pattern, one failure per bad page (page, first bad region offset,
    /// expected and found byte). Returns the number of bad bytes.
    /// </summary>
    public static long Compare(Check check, MemphysMapping map, ulong seed, Action<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(map);
        int page = Environment.SystemPageSize;
        long bad = 0;
        map.ForEachChunk((chunk, chunkOffset) =>
        {
            for (int o = 0; o < chunk.Length; o += page)
            {
                Span<byte> span = chunk.Slice(o, Math.Min(page, chunk.Length - o));
                long region = map.RegionOffset + chunkOffset + o;
                long n = Pattern.Check(span, region, seed, out long firstBad);
                if (n != 0)
                {
                    bad += n;
                    byte found = span[(int)(firstBad - region)];
                    check.Fail($"page {(chunkOffset + o) / page} (region offset 0x{firstBad:x}): {n} bad bytes, " +
                        $"first expected 0x{Pattern.ExpectedByte(firstBad, seed):x2} found 0x{found:x2}");
                }

                if (progress is not null && ((chunkOffset + o) % ProgressStep) == 0)
                {
                    progress((double)(chunkOffset + o) / map.Length);
                }
            }
        });
        return bad;
    }
}
