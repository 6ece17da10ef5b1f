using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace Memphys.Verification;

/// <summary>
/// The stress test of <c>memphys stress</c>, as a library: worker threads write seeded patterns at random offsets
/// of the range through one path (a remap mapping, a fault mapping or pwrite) and read them back through another
/// (or pread), counting every byte that differs. Worker w owns an 8-byte-aligned slice of the range, so workers
/// never race on bytes and any difference is corruption.
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Run"/> may be called from any thread; each run opens devices of its own. Runs on the
/// same range at once (other than the processes of one run, see <see cref="StressOptions.Processes"/>) overwrite
/// each other's patterns and report corruption.
/// </remarks>
public static class StressRunner
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
    private static readonly string[] PathNames = ["remap", "fault", "pwrite/pread"];

    /// <summary>
    /// Runs this process's share of the stress test on [Offset, +Length) of the region of <paramref name="path"/>
    /// for <see cref="StressOptions.Duration"/>, reporting the time done to <paramref name="progress"/> from the
    /// calling thread. Cancelling stops every worker after its current operation; both mappings are unmapped before
    /// the <see cref="OperationCanceledException"/> leaves.
    /// </summary>
    /// <returns>The totals of this process's workers (a corruption is in the result, not an exception).</returns>
    /// <exception cref="ArgumentOutOfRangeException">An option is out of its range, or the range gives a worker less than 8 bytes.</exception>
    /// <exception cref="MemphysArgumentException">EINVAL: the range is not whole pages inside the region.</exception>
    /// <exception cref="MemphysException">A system call failed otherwise.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static StressResult Run(string path, StressOptions options, IProgress<StressProgress>? progress = null,
        CancellationToken cancellationToken = default) => RunWith(path, options, Configure, progress, cancellationToken);

    /// <summary>
    /// <see cref="Run(string, StressOptions, IProgress{StressProgress}?, CancellationToken)"/> with the setting of
    /// each device's method given: the host tests run it on a plain file, which takes no ioctl.
    /// </summary>
    internal static StressResult RunWith(string path, StressOptions options, Action<MemphysDevice, MappingMethod, StressOptions> configure,
        IProgress<StressProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        long slice = Validate(options);
        cancellationToken.ThrowIfCancellationRequested();
        using MemphysDevice remapDevice = MemphysDevice.Open(path);
        configure(remapDevice, MappingMethod.Remap, options);
        using MemphysMapping remap = remapDevice.Map(options.Offset, options.Length);
        using MemphysDevice faultDevice = MemphysDevice.Open(path);
        configure(faultDevice, MappingMethod.Fault, options);
        using MemphysMapping fault = faultDevice.Map(options.Offset, options.Length);
        return RunWorkers(new Paths(remapDevice, remap, fault, options.Offset), options, slice, progress, cancellationToken);
    }

    private static void Configure(MemphysDevice device, MappingMethod method, StressOptions options)
    {
        device.SetMethod(method);
        if (method == MappingMethod.Fault && options.FaultAround != 0)
        {
            device.SetFaultAround(options.FaultAround);
        }
    }

    /// <summary>Throws for an option out of range; returns the bytes of each worker's slice.</summary>
    private static long Validate(StressOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(options.Offset, nameof(options.Offset));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Length, nameof(options.Length));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Duration, TimeSpan.Zero, nameof(options.Duration));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Threads, nameof(options.Threads));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.Processes, nameof(options.Processes));
        ArgumentOutOfRangeException.ThrowIfNegative(options.ProcessIndex, nameof(options.ProcessIndex));
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(options.ProcessIndex, options.Processes, nameof(options.ProcessIndex));
        if (options.MaxOperationSize < 8 || options.MaxOperationSize > int.MaxValue || options.MaxOperationSize % 8 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options.MaxOperationSize), options.MaxOperationSize,
                "the largest operation is a multiple of 8 bytes from 8 to int.MaxValue");
        }

        long workers = (long)options.Threads * options.Processes;
        long slice = options.Length / workers / 8 * 8;
        if (slice < 8)
        {
            throw new ArgumentOutOfRangeException(nameof(options.Length), options.Length,
                $"0x{options.Length:x} bytes give each of {workers} workers less than 8 bytes");
        }

        return slice;
    }

    private static StressResult RunWorkers(Paths paths, StressOptions options, long slice, IProgress<StressProgress>? progress,
        CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var results = new StressResult[options.Threads];
        var threads = new Thread[options.Threads];
        Exception? failure = null;
        for (int t = 0; t < threads.Length; t++)
        {
            int local = t;
            int worker = options.ProcessIndex * options.Threads + t;
            threads[t] = new Thread(() =>
            {
                try
                {
                    results[local] = Worker(paths, worker * slice, slice, worker, options, clock, cancellationToken);
                }
                catch (Exception ex)
                {
                    // Rethrown on the calling thread after the join: an exception on a worker thread would end the process.
                    Interlocked.CompareExchange(ref failure, ex, null);
                }
            })
            { IsBackground = true, Name = $"memphys stress {worker}" };
            threads[t].Start();
        }

        foreach (Thread thread in threads)
        {
            while (!thread.Join(ProgressInterval))
            {
                progress?.Report(new StressProgress(clock.Elapsed, options.Duration));
            }
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        cancellationToken.ThrowIfCancellationRequested();
        progress?.Report(new StressProgress(clock.Elapsed, options.Duration));
        return results.Aggregate(StressResult.Empty, (sum, r) => sum.Plus(r));
    }

    private static StressResult Worker(Paths paths, long sliceStart, long sliceLength, int worker, StressOptions options,
        Stopwatch clock, CancellationToken cancellationToken)
    {
        var rng = new XorShift(Pattern.Mix(options.Seed, (ulong)worker + 1));
        long operations = 0, bytes = 0, corruptBytes = 0;
        var corruptions = new List<string>();
        byte[] buffer = new byte[options.MaxOperationSize];
        MemphysMapping[] views = [paths.Remap, paths.Fault];
        while (clock.Elapsed < options.Duration && !cancellationToken.IsCancellationRequested)
        {
            long start = rng.Below(sliceLength / 8) * 8;
            int len = (int)Math.Min((rng.Below(options.MaxOperationSize / 8) + 1) * 8, sliceLength - start);
            long mapOffset = sliceStart + start;
            long region = paths.RegionOffset + mapOffset;
            ulong opSeed = rng.Next();
            int writeVia = (int)rng.Below(3); // 0 remap, 1 fault, 2 pwrite
            int readVia = (int)rng.Below(3);  // 0 remap, 1 fault, 2 pread
            if (writeVia < 2)
            {
                Pattern.Fill(views[writeVia].GetSpan(mapOffset, len), region, opSeed);
            }
            else
            {
                Span<byte> b = buffer.AsSpan(0, len);
                Pattern.Fill(b, region, opSeed);
                paths.Device.Write(region, b);
            }

            ReadOnlySpan<byte> read;
            if (readVia < 2)
            {
                read = views[readVia].GetReadOnlySpan(mapOffset, len);
            }
            else
            {
                Span<byte> b = buffer.AsSpan(0, len);
                b.Clear();
                paths.Device.Read(region, b);
                read = b;
            }

            long bad = Pattern.Check(read, region, opSeed, out long firstBad);
            if (bad != 0)
            {
                corruptBytes += bad;
                if (corruptions.Count < StressResult.MaxRecordedCorruptions)
                {
                    corruptions.Add($"worker {worker}: 0x{region:x}+0x{len:x} written via {PathNames[writeVia]}, read via {PathNames[readVia]}: " +
                        $"{bad} bad bytes, first at region offset 0x{firstBad:x} expected 0x{Pattern.ExpectedByte(firstBad, opSeed):x2} " +
                        $"found 0x{read[(int)(firstBad - region)]:x2}");
                }
            }

            operations++;
            bytes += len;
        }

        return new StressResult(operations, bytes, corruptBytes, corruptions);
    }

    /// <summary>The three ways to the range: pwrite/pread on the device, the remap mapping and the fault mapping.</summary>
    private sealed record Paths(MemphysDevice Device, MemphysMapping Remap, MemphysMapping Fault, long RegionOffset);
}
