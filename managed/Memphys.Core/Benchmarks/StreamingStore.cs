using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Memphys.Benchmarks;

/// <summary>
/// The benchmark's C# write loop. A buffer much larger than the caches is filled the way glibc's memset fills it:
/// with non-temporal stores, which write whole cache lines without first reading them (no read-for-ownership), so
/// the loop moves half the memory traffic of ordinary stores. Smaller buffers, and CPUs without SSE2, use
/// <see cref="Span{T}.Fill"/>.
/// </summary>
internal static unsafe class StreamingStore
{
    /// <summary>From this size on the buffer cannot stay in any cache (glibc switches near 3/4 of the shared cache).</summary>
    public const long Threshold = 8L << 20;

    private const int Line = 64;

    /// <summary>Sets <paramref name="length"/> bytes at <paramref name="p"/> to <paramref name="value"/>.</summary>
    public static void Fill(byte* p, long length, byte value)
    {
        if (!Sse2.IsSupported || length < Threshold)
        {
            SpanFill(p, length, value);
            return;
        }

        long head = (Line - ((long)p & (Line - 1))) & (Line - 1);
        SpanFill(p, head, value);
        long lines = (length - head) / Line;
        byte* q = p + head;
        Vector128<byte> v = Vector128.Create(value);
        for (long i = 0; i < lines; i++, q += Line)
        {
            Sse2.StoreAlignedNonTemporal(q, v);
            Sse2.StoreAlignedNonTemporal(q + 16, v);
            Sse2.StoreAlignedNonTemporal(q + 32, v);
            Sse2.StoreAlignedNonTemporal(q + 48, v);
        }

        // Non-temporal stores are weakly ordered: make them visible before anything that follows.
        Sse.StoreFence();
        SpanFill(q, length - head - (lines * Line), value);
    }

    private static void SpanFill(byte* p, long length, byte value)
    {
        for (long done = 0; done < length; done += int.MaxValue)
        {
            new Span<byte>(p + done, (int)Math.Min(length - done, int.MaxValue)).Fill(value);
        }
    }
}
