using System.Runtime.InteropServices;

namespace Memphys.Cli;

/// <summary>
/// Seeded, position-dependent test pattern: the 8 bytes at region offset 8k are SplitMix64(seed, k), so
/// any window can be regenerated from its region offset alone. Offsets and lengths are multiples of 8.
/// </summary>
internal static class Pattern
{
    public static ulong Mix(ulong seed, ulong index)
    {
        ulong z = seed + (index + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Fills <paramref name="target"/>, which holds region bytes starting at <paramref name="regionOffset"/>.</summary>
    public static void Fill(Span<byte> target, long regionOffset, ulong seed)
    {
        Span<ulong> words = MemoryMarshal.Cast<byte, ulong>(target);
        ulong first = (ulong)regionOffset / 8;
        for (int i = 0; i < words.Length; i++)
        {
            words[i] = Mix(seed, first + (ulong)i);
        }
    }

    /// <summary>Expected byte at <paramref name="regionOffset"/>.</summary>
    public static byte ExpectedByte(long regionOffset, ulong seed) =>
        (byte)(Mix(seed, (ulong)regionOffset / 8) >> (int)(8 * (regionOffset % 8)));

    /// <summary>Counts bytes that differ from the pattern; reports the first mismatching region offset, or -1.</summary>
    public static long Check(ReadOnlySpan<byte> data, long regionOffset, ulong seed, out long firstBad)
    {
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        ulong first = (ulong)regionOffset / 8;
        long bad = 0;
        firstBad = -1;
        for (int i = 0; i < words.Length; i++)
        {
            ulong expected = Mix(seed, first + (ulong)i);
            ulong found = words[i];
            if (found != expected)
            {
                ulong diff = found ^ expected;
                for (int b = 0; b < 8; b++)
                {
                    if (((diff >> (8 * b)) & 0xFF) != 0)
                    {
                        bad++;
                        if (firstBad < 0)
                        {
                            firstBad = regionOffset + (long)i * 8 + b;
                        }
                    }
                }
            }
        }

        return bad;
    }
}

/// <summary>Small deterministic PRNG (xorshift64*), seeded per worker.</summary>
internal struct XorShift(ulong seed)
{
    private ulong _state = Pattern.Mix(seed, 0) | 1;

    public ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }

    public long Below(long bound) => (long)(Next() % (ulong)bound);
}
