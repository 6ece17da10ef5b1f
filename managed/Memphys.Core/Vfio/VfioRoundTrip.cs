using Memphys.Dma;

namespace Memphys.Vfio;

/// <summary>
/// The device round trip through an IOMMU: a memphys mapping filled with a pattern is given an IOVA in the device's
/// container; the edu device copies the mapping's first bytes into its buffer and writes them back into the middle
/// of the mapping (across a page boundary) and at its end; then every byte of the mapping is checked, so a byte the
/// device wrote anywhere else, or failed to write, shows.
/// </summary>
internal static class VfioRoundTrip
{
    /// <summary>The smallest mapping the round trip's three ranges fit in apart: four pages.</summary>
    public const long MinimumLength = 4 * 4096;

    /// <summary>Runs the round trip on <paramref name="mapping"/> at <paramref name="iova"/>; the IOVA is unmapped again before it returns.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The mapping is smaller than <see cref="MinimumLength"/> or over 2 GiB.</exception>
    /// <exception cref="MemphysException">VFIO refused the mapping or its unmap.</exception>
    /// <exception cref="TimeoutException">The device did not finish a transfer.</exception>
    public static VfioRoundTripResult Run(VfioContainer container, EduDevice edu, MemphysMapping mapping, ulong iova, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(edu);
        ArgumentNullException.ThrowIfNull(mapping);
        ArgumentOutOfRangeException.ThrowIfLessThan(mapping.Length, MinimumLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(mapping.Length, int.MaxValue);

        Span<byte> bytes = mapping.AsSpan();
        Pattern.Fill(bytes, mapping.RegionOffset, seed);
        byte[] expected = bytes.ToArray();
        const int count = EduDevice.MaxTransfer;
        long[] targets = [mapping.Length / 2 - 2048, mapping.Length - count];
        long transfers = edu.Transfers, moved = edu.BytesTransferred;
        using (VfioDmaMapping dma = container.MapDma(mapping, iova))
        {
            edu.CopyToDevice(dma.IovaOf(0), 0, count);
            foreach (long target in targets)
            {
                edu.CopyFromDevice(0, dma.IovaOf((ulong)target), count);
                expected.AsSpan(0, count).CopyTo(expected.AsSpan((int)target));
            }
        }

        long mismatches = 0, first = -1;
        ReadOnlySpan<byte> actual = mapping.AsSpan();
        for (int i = 0; i < actual.Length; i++)
        {
            if (actual[i] != expected[i])
            {
                mismatches++;
                first = first < 0 ? i : first;
            }
        }

        return new VfioRoundTripResult(iova, edu.Transfers - transfers, edu.BytesTransferred - moved, actual.Length, mismatches, first);
    }
}
