using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys.Tests;

public sealed unsafe class MappingTests
{
    [Fact]
    public void ChunksCoverLengthExactly()
    {
        long length = 5L * int.MaxValue + 12345;
        var chunks = MemphysMapping.Chunks(length).ToList();
        Assert.Equal(0, chunks[0].Offset);
        long next = 0;
        foreach ((long offset, int len) in chunks)
        {
            Assert.Equal(next, offset);
            Assert.InRange(len, 1, MemphysMapping.DefaultChunkSize);
            next += len;
        }

        Assert.Equal(length, next);
        Assert.Empty(MemphysMapping.Chunks(0));
    }

    [Fact]
    public void WalksMappingLargerThanTwoGiBInChunks()
    {
        const long length = (3L << 30) + (64 << 10); // over 2 GiB, and not a multiple of the chunk size
        using MemphysMapping map = MemphysMapping.CreateAnonymous(length);
        Assert.Equal(length, map.Length);
        Assert.Throws<InvalidOperationException>(() => map.AsSpan());

        // Write a marker into the first and last byte of every chunk, then read them back through raw pointers.
        var seen = new List<(long Offset, int Length)>();
        map.ForEachChunk((span, offset) =>
        {
            seen.Add((offset, span.Length));
            span[0] = (byte)(offset >> 30 | 0x80);
            span[^1] = (byte)(offset >> 30 | 0x40);
        });
        Assert.Equal(4, seen.Count);
        Assert.Equal(length, seen.Sum(s => (long)s.Length));
        foreach ((long offset, int len) in seen)
        {
            Assert.Equal((byte)(offset >> 30 | 0x80), map.Pointer[offset]);
            Assert.Equal((byte)(offset >> 30 | 0x40), map.Pointer[offset + len - 1]);
        }

        // A window above 2 GiB maps the same bytes as the pointer.
        Span<byte> high = map.GetSpan(length - 16, 16);
        high[15] = 0xEE;
        Assert.Equal(0xEE, map.Pointer[length - 1]);
        Memory<byte> mem = map.GetMemory(3L << 30, 8);
        mem.Span[0] = 0x11;
        Assert.Equal(0x11, map.Pointer[3L << 30]);
        using (System.Buffers.MemoryHandle pin = mem.Pin())
        {
            Assert.Equal((nint)(map.Pointer + (3L << 30)), (nint)pin.Pointer);
        }

        Assert.Equal(4, map.MemoryChunks().Count());
    }

    [Fact]
    public void WindowsAreBoundsChecked()
    {
        using MemphysMapping map = MemphysMapping.CreateAnonymous(8192);
        Assert.Throws<ArgumentOutOfRangeException>(() => map.GetSpan(8190, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => map.GetSpan(-1, 1));
        Assert.Equal(8192, map.AsSpan().Length);
        Assert.Equal(2, map.PageCount);
    }

    [Fact]
    public void DisposeUnmapsAndRejectsFurtherUse()
    {
        MemphysMapping map = MemphysMapping.CreateAnonymous(4096);
        SafeBuffer buffer = map.Buffer;
        Assert.Equal(4096UL, buffer.ByteLength);
        map.Dispose();
        Assert.True(map.IsDisposed);
        Assert.True(buffer.IsClosed);
        Assert.Throws<ObjectDisposedException>(() => map.GetSpan(0, 1));
    }

    [Fact]
    public void ResidencyFollowsTouches()
    {
        int page = Environment.SystemPageSize;
        using MemphysMapping map = MemphysMapping.CreateAnonymous(16L * page);
        map.Advise(Interop.Libc.MADV_NOHUGEPAGE);
        Assert.All(map.GetResidency(), Assert.False);
        map.Pointer[3L * page] = 1;
        map.Pointer[7L * page + 100] = 1;
        bool[] resident = map.GetResidency();
        Assert.Equal(16, resident.Length);
        for (int i = 0; i < resident.Length; i++)
        {
            Assert.Equal(i is 3 or 7, resident[i]);
        }

        Assert.Equal(16, map.TouchPages(write: true));
        Assert.Equal(16, PageInspector.CountResident(map.BaseAddress, map.Length));
        map.Lock();
        map.Unlock();
        map.Flush();
    }

    [Fact]
    public void PagemapParsesBits()
    {
        byte[] raw = new byte[16];
        BitConverter.TryWriteBytes(raw.AsSpan(0, 8), (1UL << 63) | (1UL << 61) | 0x12345UL);
        BitConverter.TryWriteBytes(raw.AsSpan(8, 8), 0x7FFFUL); // not present: PFN hidden
        PagemapEntry[] entries = PageInspector.ParsePagemap(raw);
        Assert.True(entries[0].Present);
        Assert.True(entries[0].FileOrSharedAnonymous);
        Assert.False(entries[0].Swapped);
        Assert.Equal(0x12345UL, entries[0].Pfn);
        Assert.False(entries[1].Present);
        Assert.Equal(0UL, entries[1].Pfn);
        Assert.Equal((1UL << 55) - 1, new PagemapEntry(ulong.MaxValue).Pfn);
        Assert.Throws<ArgumentException>(() => PageInspector.ParsePagemap(new byte[7]));
    }

    [Fact]
    public void PagemapOfAnonymousMemory()
    {
        int page = Environment.SystemPageSize;
        using MemphysMapping map = MemphysMapping.CreateAnonymous(8L * page);
        map.Advise(Interop.Libc.MADV_NOHUGEPAGE);
        map.Pointer[0] = 1;
        map.Pointer[5L * page] = 1;
        PagemapEntry[] entries = map.ReadPagemap();
        Assert.Equal(8, entries.Length);
        Assert.True(entries[0].Present);
        Assert.True(entries[5].Present);
        Assert.False(entries[1].Present);
        Assert.False(entries[7].Present);
        if (entries[0].Pfn != 0)
        {
            // PFNs are visible (root with CAP_SYS_ADMIN): two private pages cannot share a frame.
            Assert.NotEqual(entries[0].Pfn, entries[5].Pfn);
        }
    }

    [Fact]
    public void VmaFlagsOfAnonymousMappingAreNotPfnMap()
    {
        using MemphysMapping map = MemphysMapping.CreateAnonymous(4096);
        IReadOnlySet<string> flags = PageInspector.GetVmaFlags(map.BaseAddress);
        Assert.Contains("rd", flags);
        Assert.Contains("wr", flags);
        Assert.False(map.IsPfnMap);
        Assert.Empty(PageInspector.GetVmaFlags(0));
    }
}
