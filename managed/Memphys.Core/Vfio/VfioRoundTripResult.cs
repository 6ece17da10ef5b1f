namespace Memphys.Vfio;

/// <summary>What <see cref="VfioRoundTrip.Run"/> did and found.</summary>
/// <param name="Iova">The IOVA the mapping was given.</param>
/// <param name="Transfers">DMA transfers the device completed.</param>
/// <param name="BytesMoved">Bytes those transfers moved.</param>
/// <param name="BytesChecked">Bytes of the mapping compared with what they must hold afterwards (all of it).</param>
/// <param name="Mismatches">Bytes that differ.</param>
/// <param name="FirstMismatch">Offset in the mapping of the first differing byte, or -1.</param>
internal readonly record struct VfioRoundTripResult(ulong Iova, long Transfers, long BytesMoved, long BytesChecked, long Mismatches, long FirstMismatch)
{
    /// <summary>True when every byte holds what it must.</summary>
    public bool Passed => Mismatches == 0;
}
