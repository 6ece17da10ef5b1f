namespace Memphys.Benchmarks;

/// <summary>What every benchmark kind is given: the memphys device and range, and the peers' devices.</summary>
/// <param name="DevicePath">The memphys device node.</param>
/// <param name="Offset">Byte offset of the measured range in the memphys region.</param>
/// <param name="Length">Bytes mapped and first-touched per repetition.</param>
/// <param name="DevMemBase">Physical address for the /dev/mem kind; null: the memphys region's base + <paramref name="Offset"/>.</param>
/// <param name="DaxPaths">device-dax nodes (/dev/daxX.Y) to pick the 2 MiB / 1 GiB aligned kinds from.</param>
internal sealed record BenchSettings(string DevicePath, long Offset, long Length, ulong? DevMemBase, IReadOnlyList<string> DaxPaths);
