using System.Buffers;
using Memphys.Native;

namespace Memphys.Tests;

/// <summary>
/// A mapping is unmapped only when nothing uses it any more: every library call and every <see cref="MemoryHandle"/>
/// from <c>GetMemory(...).Pin()</c> holds a reference on its <see cref="SafeMappingHandle"/>, so a concurrent or
/// early <see cref="MemphysMapping.Dispose"/> cannot send a system call or a read to memory mapped there next.
/// </summary>
public sealed unsafe class LifetimeTests
{
    // 13 pages: an unusual size, so that a line "start-end" of exactly this range in /proc/self/maps is this mapping
    // and not another one the runtime placed at a reused address.
    private static readonly long Length = 13L * Environment.SystemPageSize;

    private static bool IsMapped(nint address)
    {
        string range = $"{address:x}-{address + (nint)Length:x} ";
        return File.ReadLines("/proc/self/maps").Any(l => l.StartsWith(range, StringComparison.Ordinal));
    }

    [Fact]
    public void PinAfterDisposeThrows()
    {
        MemphysMapping map = MemphysMapping.CreateAnonymous(4096);
        Memory<byte> memory = map.GetMemory(0, 8);
        map.Dispose();
        Assert.Throws<ObjectDisposedException>(() => memory.Pin());
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
    }

    [Fact]
    public void APinKeepsTheRangeMappedUntilItIsReleased()
    {
        MemphysMapping map = MemphysMapping.CreateAnonymous(Length);
        nint address = map.BaseAddress;
        Memory<byte> memory = map.GetMemory(16, 8);
        MemoryHandle pin = memory.Pin();
        map.Dispose();
        Assert.True(map.IsDisposed);
        Assert.True(IsMapped(address), "Dispose unmapped a range that a MemoryHandle still pins");
        ((byte*)pin.Pointer)[0] = 0x5A;
        Assert.Equal(0x5A, ((byte*)address)[16]);
        pin.Dispose();
        Assert.False(IsMapped(address), "the range stayed mapped after the last pin was released");
    }

    [Fact]
    public void ForEachChunkKeepsTheMappingWhileTheActionRuns()
    {
        MemphysMapping map = MemphysMapping.CreateAnonymous(Length);
        nint address = map.BaseAddress;
        bool mappedInside = false;
        map.ForEachChunk((span, _) =>
        {
            map.Dispose();
            mappedInside = IsMapped(address);
            if (mappedInside)
            {
                span[0] = 1;
            }
        }, maxChunk: (int)Length);
        Assert.True(mappedInside, "Dispose inside ForEachChunk unmapped the span being visited");
        Assert.False(IsMapped(address));
    }

    [Fact]
    public void EveryCallAfterDisposeThrowsObjectDisposed()
    {
        MemphysMapping map = MemphysMapping.CreateAnonymous(4096);
        map.Dispose();
        Assert.Throws<ObjectDisposedException>(() => map.Flush());
        Assert.Throws<ObjectDisposedException>(() => map.Lock());
        Assert.Throws<ObjectDisposedException>(() => map.Unlock());
        Assert.Throws<ObjectDisposedException>(() => map.Advise(Interop.Libc.MADV_NORMAL));
        Assert.Throws<ObjectDisposedException>(() => map.TouchPages());
        Assert.Throws<ObjectDisposedException>(() => map.GetResidency());
        Assert.Throws<ObjectDisposedException>(() => map.ReadPagemap());
        Assert.Throws<ObjectDisposedException>(() => map.IsPfnMap);
        Assert.Throws<ObjectDisposedException>(() => map.GetSpan(0, 1));
    }

    /// <summary>
    /// One thread keeps calling madvise(MADV_DONTNEED) on a mapping while another disposes it and maps new memory,
    /// which the kernel usually places at the same address. Without a reference held across the call, a
    /// madvise that passed its disposal check can land on the new mapping and zero it.
    /// </summary>
    [Fact]
    public void AdviseRacingDisposeNeverReachesTheNextMapping()
    {
        const int pages = 16;
        long length = pages * (long)Environment.SystemPageSize;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int reused = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            MemphysMapping victim = MemphysMapping.CreateAnonymous(length);
            nint address = victim.BaseAddress;
            using var started = new ManualResetEventSlim();
            var thread = new Thread(() =>
            {
                started.Set();
                try
                {
                    while (true)
                    {
                        victim.Advise(Interop.Libc.MADV_DONTNEED);
                    }
                }
                catch (ObjectDisposedException)
                {
                }
            });
            thread.Start();
            started.Wait(TestContext.Current.CancellationToken);
            victim.Dispose();
            using MemphysMapping next = MemphysMapping.CreateAnonymous(length);
            next.AsSpan().Fill(0xA5);
            thread.Join();
            if (next.BaseAddress == address)
            {
                reused++;
                Assert.True(next.AsSpan().IndexOfAnyExcept((byte)0xA5) < 0, "madvise of a disposed mapping zeroed the next mapping");
            }
        }

        Assert.True(reused > 0, "the kernel never reused the address; the race was not exercised");
    }
}
