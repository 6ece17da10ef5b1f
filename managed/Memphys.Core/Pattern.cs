using System.Runtime.InteropServices;

namespace Memphys;

/// <summary>
/// The one test pattern of memphys (CLI, tests and <c>tests/native/memphys-probe</c>): seeded and positional, the
/// 8 bytes at region offset 8k are <c>SplitMix64(seed, k)</c> (<see cref="Mix"/>), so any window can be regenerated
/// from its region offset alone. Offsets and lengths are multiples of 8.
/// </summary>
/// <remarks>Pure functions: thread-safe; two threads filling the same bytes race as any two writers do.</remarks>
public static class Pattern
{
    /// <summary>SplitMix64 of <paramref name="seed"/> and <paramref name="index"/>: the pattern word number <paramref name="index"/>.</summary>
    public static ulong Mix(ulong seed, ulong index)
    {
        ulong z = seed + ((index + 1) * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>The pattern word at the start of region page <paramref name="page"/> (4 KiB pages).</summary>
    public static ulong PageWord(ulong seed, ulong page) => Mix(seed, page * (4096 / sizeof(ulong)));

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
            ulong diff = words[i] ^ Mix(seed, first + (ulong)i);
            if (diff == 0)
            {
                continue;
            }

            bad += DifferingBytes(diff);
            if (firstBad < 0)
            {
                firstBad = regionOffset + ((long)i * 8) + (System.Numerics.BitOperations.TrailingZeroCount(diff) / 8);
            }
        }

        return bad;
    }

    /// <summary>How many of the 8 bytes of <paramref name="diff"/> (an XOR of two words) are non-zero.</summary>
    public static int DifferingBytes(ulong diff)
    {
        int n = 0;
        for (; diff != 0; diff >>= 8)
        {
            n += (diff & 0xff) != 0 ? 1 : 0;
        }

        return n;
    }
}
