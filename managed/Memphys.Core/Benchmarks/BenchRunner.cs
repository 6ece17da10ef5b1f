using System.Diagnostics;
using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>
/// Runs the kinds: one warm-up round on a small range, then <c>repetitions</c> rounds, each measuring every kind
/// once (round-robin, so slow drifts of the machine hit all kinds alike). Per kind and round: mmap() of the whole
/// range; first write of every 4 KiB page; bandwidth over the window of that mapping (C# fill, read-and-verify,
/// copy; libc memset, memcpy) with patterns that change every round and are verified; then a fresh mapping
/// first-written every 2 MiB.
/// </summary>
internal static unsafe class BenchRunner
{
    private const long GiB = 1L << 30;
    private const long WarmUpLength = 4L << 20;

    /// <summary>
    /// Measures <paramref name="kinds"/> (no bandwidth when <paramref name="window"/> is 0); <paramref name="progress"/>
    /// gets (done, total) measurements.
    /// </summary>
    public static IReadOnlyList<KindResult> Run(IReadOnlyList<BenchKind> kinds, BenchSettings settings, long window, int repetitions,
        Action<int, int>? progress = null)
    {
        var results = kinds.Select(k => new KindResult(k.Name, k.Group, k.PageSize)).ToList();
        for (int i = 0; i < kinds.Count; i++)
        {
            results[i].Unsupported = Try(() => kinds[i].Prepare(settings));
        }

        WarmUpCode();
        int total = (repetitions + 1) * results.Count(r => r.Unsupported is null), done = 0;
        for (int round = -1; round < repetitions; round++)
        {
            for (int i = 0; i < kinds.Count; i++)
            {
                if (results[i].Unsupported is not null)
                {
                    continue;
                }

                bool warmUp = round < 0;
                GC.Collect(); // no collection of garbage from earlier kinds inside a measurement
                GC.WaitForPendingFinalizers();
                // The warm-up maps at least one page of the kind's size: device-dax refuses shorter mappings.
                long length = warmUp ? Math.Min(Math.Max(WarmUpLength, (long)kinds[i].PageSize), settings.Length) : settings.Length;
                KindResult sink = warmUp ? new KindResult("", "", 0) : results[i];
                results[i].Unsupported = Try(() =>
                {
                    Measure(kinds[i], sink, length, Math.Min(window, length), round + 1);
                    return null;
                });
                progress?.Invoke(++done, total);
            }
        }

        return results;
    }

    /// <summary>
    /// Runs the measured loops often enough on a small buffer, with pauses for the background compiler, that the
    /// JIT has replaced their first (tier-0 or precompiled) code by the optimised one before round 0: otherwise
    /// the first round measures other machine code than the next ones.
    /// </summary>
    private static void WarmUpCode()
    {
        const int calls = 40;
        using MemphysMapping map = MemphysMapping.CreateAnonymous(1 << 20);
        var sink = new KindResult("", "", 0);
        var kind = new AnonymousKind("", Interop.Libc.MADV_NOHUGEPAGE, FaultSize.Pte);
        for (int pass = 0; pass < 3; pass++)
        {
            for (int i = 0; i < calls; i++)
            {
                _ = Touch(kind, map, Environment.SystemPageSize, Pattern(i, 0), out _);
                Bandwidth(map.Pointer, map.Length, i, sink, "warm-up");
            }

            Thread.Sleep(200);
        }
    }

    private static string? Try(Func<string?> action)
    {
        try
        {
            return action();
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
        catch (UnauthorizedAccessException ex)
        {
            return ex.Message;
        }
    }

    private static void Measure(BenchKind kind, KindResult result, long length, long window, int round)
    {
        double perGiB = (double)GiB / length;
        // Page tables from before mmap: the remap method fills them in mmap, the others on first touch.
        long tablesBefore = SystemMemory.PageTables;
        var clock = Stopwatch.StartNew();
        using (MemphysMapping map = kind.Map(length))
        {
            double mmap = clock.Elapsed.TotalSeconds;
            (double touch, _) = Touch(kind, map, Environment.SystemPageSize, Pattern(round, 0), out MemphysStats? faults);
            long tables = SystemMemory.PageTables - tablesBefore;
            result.Faults4K = faults;
            result.Add(Metric.Mmap, mmap);
            result.Add(Metric.Touch4K, touch);
            result.Add(Metric.MmapTouch4K, mmap + touch);
            result.Add(Metric.PageTables, tables * perGiB);
            if (window > 0)
            {
                Bandwidth(map.Pointer, window, round, result, kind.Name);
            }
        }

        using (MemphysMapping map = kind.Map(length))
        {
            (double touch, _) = Touch(kind, map, 2L << 20, Pattern(round, 1), out MemphysStats? faults);
            result.Faults2M = faults;
            result.Add(Metric.Touch2M, touch);
        }
    }

    /// <summary>A non-zero byte that differs between rounds and steps.</summary>
    internal static byte Pattern(int round, int step) => (byte)(1 + ((round * 5 + step) * 37 % 255));

    /// <summary>Writes one byte per <paramref name="stride"/> over the whole mapping: the first touch.</summary>
    private static (double Seconds, long PageTableBytes) Touch(BenchKind kind, MemphysMapping map, long stride, byte value, out MemphysStats? faults)
    {
        MemphysStats? before = kind.Counters();
        long tables = SystemMemory.PageTables;
        byte* p = map.Pointer;
        long length = map.Length;
        var clock = Stopwatch.StartNew();
        for (long o = 0; o < length; o += stride)
        {
            Volatile.Write(ref p[o], value);
        }

        double seconds = clock.Elapsed.TotalSeconds;
        tables = SystemMemory.PageTables - tables;
        faults = before is { } b && kind.Counters() is { } a ? a.Since(b) : null;
        return (seconds, tables);
    }

    private static void Bandwidth(byte* p, long window, int round, KindResult result, string name)
    {
        long half = window / 2 / Environment.SystemPageSize * Environment.SystemPageSize;
        byte write = Pattern(round, 2), set = Pattern(round, 3), copy = Pattern(round, 4), native = Pattern(round, 5);
        result.Add(Metric.Write, Rate(window, () => StreamingStore.Fill(p, window, write)));
        result.Add(Metric.Read, Rate(window, () => Verify(p, window, write, name)));
        result.Add(Metric.MemSet, Rate(window, () => Interop.Libc.MemSet(p, set, (nuint)window)));

        Chunks(p, half, (s, _) => s.Fill(copy));
        result.Add(Metric.Copy, Rate(half, () => Chunks(p, half, (s, o) => s.CopyTo(new Span<byte>(p + half + o, s.Length)))));
        Verify(p + half, half, copy, name);

        Interop.Libc.MemSet(p, native, (nuint)half);
        result.Add(Metric.MemCpy, Rate(half, () => Interop.Libc.MemCpy(p + half, p, (nuint)half)));
        Verify(p + half, half, native, name);
    }

    private static double Rate(long bytes, Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return bytes / Math.Max(clock.Elapsed.TotalSeconds, 1e-9) / (1 << 20);
    }

    private static void Chunks(byte* p, long length, SpanChunkAction action)
    {
        foreach ((long offset, int count) in MemphysMapping.Chunks(length))
        {
            action(new Span<byte>(p + offset, count), offset);
        }
    }

    private static void Verify(byte* p, long length, byte expected, string name) => Chunks(p, length, (s, o) =>
    {
        int bad = s.IndexOfAnyExcept(expected);
        if (bad >= 0)
        {
            throw new InvalidDataException($"{name}: byte at +0x{o + bad:x} reads 0x{s[bad]:x2}, 0x{expected:x2} was written");
        }
    });
}
