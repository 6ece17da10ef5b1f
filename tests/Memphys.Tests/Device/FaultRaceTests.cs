using Memphys.Verification;
using static Memphys.Tests.Device.DeviceSupport;

namespace Memphys.Tests.Device;

/// <summary>
/// Faults racing faults, and faults racing mmap/munmap of the same region. Under one vCPU the threads only
/// interleave; make test runs these again on two vCPUs, where they really run at once.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Trait(TestStage.Name, TestStage.Concurrency)]
[Collection(DeviceCollection.Name)]
public sealed unsafe class FaultRaceTests
{
    private static readonly int Threads = Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>Runs <paramref name="body"/> on <see cref="Threads"/> threads released together; rethrows the first failure.</summary>
    private static void RunTogether(Action<int> body)
    {
        using var start = new Barrier(Threads);
        var failures = new Exception?[Threads];
        Thread[] threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            try
            {
                start.SignalAndWait();
                body(t);
            }
            catch (Exception e)
            {
                failures[t] = e;
            }
        })).ToArray();
        foreach (Thread thread in threads)
        {
            thread.Start();
        }

        foreach (Thread thread in threads)
        {
            thread.Join();
        }

        if (failures.FirstOrDefault(f => f is not null) is { } failure)
        {
            throw new InvalidOperationException($"a racing thread failed: {failure.Message}", failure);
        }
    }

    /// <summary>
    /// All threads fault the same pages at once (half reading, half writing, in opposite orders), at every fault
    /// size the kernel installs: every page ends at its own frame, each block is installed at least once and at most
    /// once per thread (a thread that loses the race finds the entry already there), nothing is refused.
    /// </summary>
    [DeviceFact]
    public void ThreadsFaultingTheSamePagesAllEndAtTheRightFrames()
    {
        using MemphysDevice dev = OpenWith(MappingMethod.Fault);
        MemphysInfo info = dev.GetInfo();
        foreach (long size in FaultSize.ToBytes(info.FaultSizes))
        {
            long length = Math.Min(info.RegionSize / size * size, Math.Max(size, 64L << 20));
            if (length == 0 || info.PhysicalBase % (ulong)size != 0)
            {
                continue;
            }

            dev.SetMaxFaultSize(size);
            using MemphysMapping map = dev.Map(0, length, alignment: size);
            dev.ResetStats();
            long pages = map.PageCount;
            RunTogether(t =>
            {
                for (long k = 0; k < pages; k++)
                {
                    byte* p = map.Pointer + (t % 2 == 0 ? k : pages - 1 - k) * Page + t;
                    if (t % 4 < 2)
                    {
                        _ = Volatile.Read(ref *p);
                    }
                    else
                    {
                        Volatile.Write(ref *p, (byte)t);
                    }
                }
            });

            MemphysStats stats = dev.GetStats();
            ulong blocks = (ulong)(length / size);
            // With fault-around a 4 KiB fault also fills its neighbours, each once (prefaulted skips present entries).
            ulong installed = size == FaultSize.Pud ? stats.PudFaults : size == FaultSize.Pmd ? stats.PmdFaults : stats.PteFaults + stats.Prefaulted;
            Assert.InRange(installed, blocks, blocks * (ulong)Threads);
            Assert.Equal(0UL, stats.Refused);
            AssertPages(dev, map, PageExpectation.AllPresent, $"{MemphysDevice.FormatSize(size)} faults racing on {Threads} threads");
        }
    }

    /// <summary>
    /// Threads map, fault, check and unmap windows of the region over and over, by both methods at once: zapping and
    /// faulting race inside the kernel; every window shows its own frames and the words written through it.
    /// </summary>
    [DeviceFact]
    public void MappingAndUnmappingWhileOthersFaultKeepsEveryWindowRight()
    {
        const long window = 2 << 20;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long[] rounds = new long[Threads];
        MemphysInfo info;
        using (MemphysDevice probe = DeviceEnvironment.Open())
        {
            info = probe.GetInfo();
        }

        long windows = (long)info.RegionSize / window;
        Assert.True(windows > 0, "the region is smaller than 2 MiB");
        RunTogether(t =>
        {
            using MemphysDevice dev = OpenWith(t % 2 == 0 ? MappingMethod.Fault : MappingMethod.Remap);
            var random = new Random(t + 1);
            while (clock.Elapsed < TimeSpan.FromSeconds(3) || rounds[t] == 0)
            {
                long offset = random.NextInt64(windows) * window;
                using MemphysMapping map = dev.Map(offset, window, alignment: window);
                long page = random.NextInt64(window / Page);
                ulong* word = PageWord(map, page) + 1 + t;
                *word = Pattern.Mix((ulong)t, (ulong)rounds[t]);
                Assert.Equal(Pattern.Mix((ulong)t, (ulong)rounds[t]), Volatile.Read(ref *word));
                PageTableEntry e = dev.QueryPage(map.BaseAddress + (nint)(page * Page));
                Assert.True(e.Present, $"thread {t}: page {page} of window 0x{offset:x} is not present after a write");
                Assert.Equal(BasePfn(info) + (ulong)((offset / Page) + page), e.Pfn);
                rounds[t]++;
            }

            Assert.Equal(0UL, dev.GetStats().Refused);
        });
        Assert.All(rounds, r => Assert.True(r > 0));
    }
}
