using System.Buffers;
using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys;

/// <summary>Receives one chunk of a mapping walked by <see cref="MemphysMapping.ForEachChunk"/>.</summary>
/// <param name="chunk">The chunk's bytes.</param>
/// <param name="offset">Byte offset of the chunk from the start of the mapping.</param>
public delegate void SpanChunkAction(Span<byte> chunk, long offset);

/// <summary>
/// A mapped range: of a memphys device (<see cref="MemphysDevice.Map"/>) or anonymous memory
/// (<see cref="CreateAnonymous"/>). Disposing unmaps it; spans and memories obtained from it must
/// not be used afterwards. <see cref="Span{T}"/> is limited to <see cref="int.MaxValue"/> bytes, so
/// mappings over 2 GiB are accessed in windows (<see cref="GetSpan"/>) or chunks (<see cref="ForEachChunk"/>).
/// </summary>
public sealed unsafe class MemphysMapping : IDisposable
{
    /// <summary>Default chunk size of <see cref="ForEachChunk"/>: 1 GiB.</summary>
    public const int DefaultChunkSize = 1 << 30;

    private readonly SafeMappingHandle _handle;
    private readonly byte* _base;

    internal MemphysMapping(SafeMappingHandle handle, long regionOffset, bool isPrivate, MapProtection protection, string? devicePath)
    {
        _handle = handle;
        _base = (byte*)handle.DangerousGetHandle();
        Length = checked((long)handle.Length);
        RegionOffset = regionOffset;
        IsPrivate = isPrivate;
        Protection = protection;
        DevicePath = devicePath;
    }

    /// <summary>Creates a private anonymous mapping (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE).</summary>
    /// <param name="length">Length in bytes; rounded up to whole pages by the kernel.</param>
    /// <param name="protection">Protection of the mapping.</param>
    public static MemphysMapping CreateAnonymous(long length, MapProtection protection = MapProtection.ReadWrite)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        SafeMappingHandle handle = SafeMappingHandle.Map(0, (nuint)length, (int)protection,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, null, 0);
        return new MemphysMapping(handle, 0, isPrivate: true, protection, null);
    }

    /// <summary>Base address of the mapping.</summary>
    public nint BaseAddress => (nint)_base;

    /// <summary>Base pointer of the mapping.</summary>
    public byte* Pointer => _base;

    /// <summary>Length of the mapping in bytes.</summary>
    public long Length { get; }

    /// <summary>Byte offset in the device region that <see cref="BaseAddress"/> maps (0 for anonymous memory).</summary>
    public long RegionOffset { get; }

    /// <summary>True for MAP_PRIVATE (copy-on-write) mappings.</summary>
    public bool IsPrivate { get; }

    /// <summary>Protection the mapping was created with.</summary>
    public MapProtection Protection { get; }

    /// <summary>The device path, or null for anonymous memory.</summary>
    public string? DevicePath { get; }

    /// <summary>Number of pages of <see cref="Environment.SystemPageSize"/> bytes.</summary>
    public long PageCount => (Length + Environment.SystemPageSize - 1) / Environment.SystemPageSize;

    /// <summary>The owning <see cref="SafeBuffer"/>; releasing it unmaps the range.</summary>
    public SafeBuffer Buffer => _handle;

    /// <summary>True once disposed.</summary>
    public bool IsDisposed => _handle.IsClosed;

    /// <summary>A span over <paramref name="length"/> bytes starting at <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is not inside the mapping.</exception>
    public Span<byte> GetSpan(long offset, int length)
    {
        CheckWindow(offset, length);
        return new Span<byte>(_base + offset, length);
    }

    /// <summary>The whole mapping as one span; only for mappings of at most <see cref="int.MaxValue"/> bytes.</summary>
    /// <exception cref="InvalidOperationException">The mapping is larger than a span can be.</exception>
    public Span<byte> AsSpan()
    {
        if (Length > int.MaxValue)
        {
            throw new InvalidOperationException($"Mapping of {Length} bytes exceeds a span; use GetSpan or ForEachChunk.");
        }

        return GetSpan(0, (int)Length);
    }

    /// <summary>A <see cref="Memory{T}"/> over <paramref name="length"/> bytes starting at <paramref name="offset"/>.</summary>
    public Memory<byte> GetMemory(long offset, int length)
    {
        CheckWindow(offset, length);
        return new WindowManager(this, _base + offset, length).Memory;
    }

    /// <summary>
    /// Splits <paramref name="length"/> bytes into consecutive windows of at most <paramref name="maxChunk"/> bytes.
    /// </summary>
    public static IEnumerable<(long Offset, int Length)> Chunks(long length, int maxChunk = DefaultChunkSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxChunk);
        for (long offset = 0; offset < length; offset += maxChunk)
        {
            yield return (offset, (int)Math.Min(maxChunk, length - offset));
        }
    }

    /// <summary>Calls <paramref name="action"/> for consecutive spans covering the whole mapping.</summary>
    public void ForEachChunk(SpanChunkAction action, int maxChunk = DefaultChunkSize)
    {
        ArgumentNullException.ThrowIfNull(action);
        foreach ((long offset, int length) in Chunks(Length, maxChunk))
        {
            action(GetSpan(offset, length), offset);
        }
    }

    /// <summary>Memories covering the whole mapping, each at most <paramref name="maxChunk"/> bytes.</summary>
    public IEnumerable<Memory<byte>> MemoryChunks(int maxChunk = DefaultChunkSize)
    {
        foreach ((long offset, int length) in Chunks(Length, maxChunk))
        {
            yield return GetMemory(offset, length);
        }
    }

    /// <summary>Touches one byte in every page (a volatile read, or a write of the byte's own value).</summary>
    /// <returns>The number of pages touched.</returns>
    public long TouchPages(bool write = false)
    {
        ThrowIfDisposed();
        long pageSize = Environment.SystemPageSize;
        long pages = 0;
        for (long offset = 0; offset < Length; offset += pageSize, pages++)
        {
            byte* p = _base + offset;
            byte value = System.Threading.Volatile.Read(ref *p);
            if (write)
            {
                System.Threading.Volatile.Write(ref *p, value);
            }
        }

        return pages;
    }

    /// <summary>
    /// True when the kernel marked the mapping VM_PFNMAP, which is the case for every memphys device mapping (both
    /// the remap and the fault method). The kernel's page-table walks skip such mappings, so
    /// <see cref="GetResidency"/> reports no page resident and <see cref="ReadPagemap"/> no page present for them,
    /// whatever is mapped. For device mappings use <see cref="MemphysDevice.QueryPage"/> /
    /// <see cref="MemphysDevice.QueryPages"/> instead: they read the page table entry the MMU uses.
    /// </summary>
    public bool IsPfnMap => PageInspector.GetVmaFlags(BaseAddress).Contains("pf");

    /// <summary>
    /// Residency of each page according to mincore(2). Meaningful for anonymous memory; for a device mapping
    /// (VM_PFNMAP, see <see cref="IsPfnMap"/>) every page reads as not resident, so ask the driver with
    /// <see cref="MemphysDevice.QueryPages"/> instead.
    /// </summary>
    public bool[] GetResidency()
    {
        ThrowIfDisposed();
        return PageInspector.GetResidency(BaseAddress, Length);
    }

    /// <summary>
    /// The <c>/proc/self/pagemap</c> entry of each page (PFNs need root / CAP_SYS_ADMIN). Meaningful for anonymous
    /// memory; for a device mapping (VM_PFNMAP, see <see cref="IsPfnMap"/>) every entry reads as not present, so
    /// use <see cref="MemphysDevice.QueryPage"/> / <see cref="MemphysDevice.QueryPages"/> for presence and PFNs.
    /// </summary>
    public PagemapEntry[] ReadPagemap()
    {
        ThrowIfDisposed();
        return PageInspector.ReadPagemap(BaseAddress, Length);
    }

    /// <summary>msync(2) the whole mapping.</summary>
    public void Flush(bool synchronous = true)
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MSync(BaseAddress, (nuint)Length,
            synchronous ? Interop.Libc.MS_SYNC : Interop.Libc.MS_ASYNC), "msync", DevicePath);
    }

    /// <summary>mlock(2) the whole mapping.</summary>
    public void Lock()
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MLock(BaseAddress, (nuint)Length), "mlock", DevicePath);
    }

    /// <summary>munlock(2) the whole mapping.</summary>
    public void Unlock()
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MUnlock(BaseAddress, (nuint)Length), "munlock", DevicePath);
    }

    /// <summary>madvise(2) with a raw <c>MADV_*</c> value over the whole mapping.</summary>
    public void Advise(int advice)
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MAdvise(BaseAddress, (nuint)Length, advice), "madvise", DevicePath);
    }

    /// <summary>Unmaps the range.</summary>
    public void Dispose() => _handle.Dispose();

    private void CheckWindow(long offset, int length)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (offset > Length - length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"Window {offset}+{length} is outside the {Length}-byte mapping.");
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_handle.IsClosed, this);

    private sealed class WindowManager(MemphysMapping owner, byte* pointer, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan()
        {
            owner.ThrowIfDisposed();
            return new Span<byte>(pointer, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, length);
            return new MemoryHandle(pointer + elementIndex);
        }

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing)
        {
        }
    }
}
