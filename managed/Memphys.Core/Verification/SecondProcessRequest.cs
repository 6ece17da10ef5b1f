namespace Memphys.Verification;

/// <summary>What a second process is asked to check: map by <paramref name="Method"/> and compare with the pattern.</summary>
/// <param name="DevicePath">The device.</param>
/// <param name="Method">The mapping method the second process uses.</param>
/// <param name="Offset">Region offset of the range.</param>
/// <param name="Length">Length of the range.</param>
/// <param name="Seed">Pattern seed the range holds.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record SecondProcessRequest(string DevicePath, MappingMethod Method, long Offset, long Length, ulong Seed);
