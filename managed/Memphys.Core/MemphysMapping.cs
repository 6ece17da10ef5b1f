using System.Buffers;
using Memphys.Native;

namespace Memphys;

/// <summary>
/// A mapped range: of a memphys device (<see cref="MemphysDevice.Map"/>) or anonymous memory
/// (<see cref="CreateAnonymous"/>). Disposing unmaps it once nothing uses it any more: every method of this class
/// holds a reference on the <see cref="SafeMappingHandle"/> for the duration of its system call, and a
/// <see cref="MemoryHandle"/> from <c>GetMemory(...).Pin()</c> holds one until it is disposed, so a concurrent
/// <see cref="Dispose"/> never lets a call reach memory that is mapped at the same address next.
/// Spans (<see cref="GetSpan"/>, <see cref="AsSpan"/>, <c>Memory.Span</c>) and <see cref="Pointer"/> hold no
/// reference: use them only while the mapping is alive (or pinned). Touching memory past the end of a mapping,
/// or after it is unmapped, is a fatal signal (SIGSEGV or SIGBUS) that ends the process, not an exception.
/// <see cref="Span{T}"/> is limited to <see cref="int.MaxValue"/> bytes, so mappings over 2 GiB are accessed in
/// windows (<see cref="GetSpan"/>) or chunks (<see cref="ForEachChunk"/>).
/// A mapping without <see cref="MapProtection.Write"/> gives only read-only views (<see cref="GetReadOnlySpan"/>,
/// <see cref="GetReadOnlyMemory"/>, <see cref="ForEachReadOnlyChunk"/>); its writable ones throw
/// <see cref="InvalidOperationException"/> instead of letting a write end the process with SIGSEGV.
/// The mapping owns its memory: no owning handle is handed out.
/// </summary>
/// <remarks>
/// Thread safety: all members may be called from any thread, <see cref="Dispose"/> included (calls in flight keep
/// the range mapped until they return). Concurrent writes to the same bytes are the caller's to order.
/// </remarks>
public sealed unsafe class MemphysMapping : IDisposable
{
    /// <summary>Default chunk size of <see cref="ForEachChunk"/>: 1 GiB.</summary>
    public const int DefaultChunkSize = 1 << 30;

    private readonly SafeMappingHandle _handle;

    // Set by Dispose. The handle itself reports closed only once the last reference is released, and accepts new
    // references until then; this flag refuses them from the moment Dispose is called.
    private volatile bool _disposed;

    internal MemphysMapping(SafeMappingHandle handle, long regionOffset, bool isPrivate, MapProtection protection, string? devicePath)
    {
        _handle = handle;
        BaseAddress = handle.DangerousGetHandle();
        Length = checked((long)handle.Length);
        RegionOffset = regionOffset;
        IsPrivate = isPrivate;
        Protection = protection;
        DevicePath = devicePath;
    }

    /// <summary>Creates a private anonymous mapping (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE).</summary>
    /// <param name="length">Length in bytes; rounded up to whole pages by the kernel.</param>
    /// <param name="protection">Protection of the mapping; <see cref="MapProtection.None"/> reserves address space.</param>
    public static MemphysMapping CreateAnonymous(long length, MapProtection protection = MapProtection.ReadWrite)
    {
        Platform.ThrowIfUnsupported();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        SafeMappingHandle handle = SafeMappingHandle.Map(0, (nuint)length, (int)protection,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, null, 0);
        return new MemphysMapping(handle, 0, isPrivate: true, protection, null);
    }

    /// <summary>Base address of the mapping; it stays the same after <see cref="Dispose"/>, when nothing is mapped there.</summary>
    public nint BaseAddress { get; }

    /// <summary>Base pointer of the mapping; valid only while the mapping is alive (see the class remarks).</summary>
    public byte* Pointer => (byte*)BaseAddress;

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

    /// <summary>The owning handle; only the library may release it (through <see cref="Dispose"/>).</summary>
    internal SafeMappingHandle Buffer => _handle;

    /// <summary>True when the mapping was made with <see cref="MapProtection.Write"/>: its writable views may be used.</summary>
    public bool IsWritable => (Protection & MapProtection.Write) != 0;

    /// <summary>True once disposed (the range is unmapped when the last reference is released).</summary>
    public bool IsDisposed => _disposed;

    /// <summary>A span over <paramref name="length"/> bytes starting at <paramref name="offset"/>; valid while the mapping is alive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is not inside the mapping.</exception>
    /// <exception cref="ObjectDisposedException">The mapping is disposed.</exception>
    /// <exception cref="InvalidOperationException">The mapping is read-only: use <see cref="GetReadOnlySpan"/>.</exception>
    public Span<byte> GetSpan(long offset, int length)
    {
        ThrowIfReadOnly();
        CheckWindow(offset, length);
        return new Span<byte>(Pointer + offset, length);
    }

    /// <summary>A read-only span over <paramref name="length"/> bytes starting at <paramref name="offset"/>; valid while the mapping is alive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The window is not inside the mapping.</exception>
    /// <exception cref="ObjectDisposedException">The mapping is disposed.</exception>
    public ReadOnlySpan<byte> GetReadOnlySpan(long offset, int length)
    {
        CheckWindow(offset, length);
        return new ReadOnlySpan<byte>(Pointer + offset, length);
    }

    /// <summary>The whole mapping as one span; only for mappings of at most <see cref="int.MaxValue"/> bytes.</summary>
    /// <exception cref="InvalidOperationException">The mapping is larger than a span can be.</exception>
    /// <exception cref="InvalidOperationException">The mapping is read-only: use <see cref="AsReadOnlySpan"/>.</exception>
    public Span<byte> AsSpan() => GetSpan(0, WholeSpanLength());

    /// <summary>The whole mapping as one read-only span; only for mappings of at most <see cref="int.MaxValue"/> bytes.</summary>
    /// <exception cref="InvalidOperationException">The mapping is larger than a span can be.</exception>
    public ReadOnlySpan<byte> AsReadOnlySpan() => GetReadOnlySpan(0, WholeSpanLength());

    /// <summary>
    /// A <see cref="Memory{T}"/> over <paramref name="length"/> bytes starting at <paramref name="offset"/>. Its
    /// <c>Pin()</c> keeps the mapping mapped until the returned <see cref="MemoryHandle"/> is disposed, and throws
    /// <see cref="ObjectDisposedException"/> once the mapping is disposed.
    /// </summary>
    /// <exception cref="InvalidOperationException">The mapping is read-only: use <see cref="GetReadOnlyMemory"/>.</exception>
    public Memory<byte> GetMemory(long offset, int length)
    {
        ThrowIfReadOnly();
        CheckWindow(offset, length);
        return new WindowManager(this, offset, length).Memory;
    }

    /// <summary>
    /// A <see cref="ReadOnlyMemory{T}"/> over <paramref name="length"/> bytes starting at <paramref name="offset"/>,
    /// guarded like <see cref="GetMemory"/>: its <c>Pin()</c> keeps the mapping mapped until the handle is disposed.
    /// </summary>
    public ReadOnlyMemory<byte> GetReadOnlyMemory(long offset, int length)
    {
        CheckWindow(offset, length);
        return new WindowManager(this, offset, length).Memory;
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

    /// <summary>
    /// Calls <paramref name="action"/> for consecutive spans covering the whole mapping; the mapping stays mapped
    /// until the walk ends, even if it is disposed meanwhile.
    /// </summary>
    /// <exception cref="InvalidOperationException">The mapping is read-only: use <see cref="ForEachReadOnlyChunk"/>.</exception>
    public void ForEachChunk(SpanChunkAction action, int maxChunk = DefaultChunkSize)
    {
        ArgumentNullException.ThrowIfNull(action);
        ThrowIfReadOnly();
        using Lease lease = Acquire();
        foreach ((long offset, int length) in Chunks(Length, maxChunk))
        {
            action(new Span<byte>(lease.Pointer + offset, length), offset);
        }
    }

    /// <summary>
    /// Calls <paramref name="action"/> for consecutive read-only spans covering the whole mapping; the mapping stays
    /// mapped until the walk ends, even if it is disposed meanwhile.
    /// </summary>
    public void ForEachReadOnlyChunk(ReadOnlySpanChunkAction action, int maxChunk = DefaultChunkSize)
    {
        ArgumentNullException.ThrowIfNull(action);
        using Lease lease = Acquire();
        foreach ((long offset, int length) in Chunks(Length, maxChunk))
        {
            action(new ReadOnlySpan<byte>(lease.Pointer + offset, length), offset);
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
    public long TouchPages(bool write = false) => TouchPages(0, Length, write);

    /// <summary>
    /// Touches one byte in every <paramref name="stride"/>-th page of [<paramref name="offset"/>, +<paramref name="length"/>),
    /// starting with the page at <paramref name="offset"/>.
    /// </summary>
    /// <returns>The number of pages touched.</returns>
    public long TouchPages(long offset, long length, bool write = false, long stride = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stride);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset, Length - length);
        using Lease lease = Acquire();
        long step = checked(stride * Environment.SystemPageSize);
        long pages = 0;
        for (long o = offset; o < offset + length; o += step, pages++)
        {
            byte* p = lease.Pointer + o;
            byte value = Volatile.Read(ref *p);
            if (write)
            {
                Volatile.Write(ref *p, value);
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
    public bool IsPfnMap
    {
        get
        {
            using Lease lease = Acquire();
            return PageInspector.GetVmaFlags(lease.Address).Contains("pf");
        }
    }

    /// <summary>
    /// Residency of each page according to mincore(2). Meaningful for anonymous memory; for a device mapping
    /// (VM_PFNMAP, see <see cref="IsPfnMap"/>) every page reads as not resident, so ask the driver with
    /// <see cref="MemphysDevice.QueryPages"/> instead.
    /// </summary>
    public bool[] GetResidency()
    {
        using Lease lease = Acquire();
        return PageInspector.GetResidency(lease.Address, Length);
    }

    /// <summary>
    /// The <c>/proc/self/pagemap</c> entry of each page (PFNs need root / CAP_SYS_ADMIN). Meaningful for anonymous
    /// memory; for a device mapping (VM_PFNMAP, see <see cref="IsPfnMap"/>) every entry reads as not present, so
    /// use <see cref="MemphysDevice.QueryPage"/> / <see cref="MemphysDevice.QueryPages"/> for presence and PFNs.
    /// </summary>
    public PagemapEntry[] ReadPagemap()
    {
        using Lease lease = Acquire();
        return PageInspector.ReadPagemap(lease.Address, Length);
    }

    /// <summary>msync(2) the whole mapping.</summary>
    public void Flush(bool synchronous = true)
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MSync(_handle, (nuint)Length,
            synchronous ? Interop.Libc.MS_SYNC : Interop.Libc.MS_ASYNC), "msync", DevicePath);
    }

    /// <summary>mlock(2) the whole mapping.</summary>
    public void Lock()
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MLock(_handle, (nuint)Length), "mlock", DevicePath);
    }

    /// <summary>munlock(2) the whole mapping.</summary>
    public void Unlock()
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MUnlock(_handle, (nuint)Length), "munlock", DevicePath);
    }

    /// <summary>madvise(2) with a raw <c>MADV_*</c> value over the whole mapping.</summary>
    public void Advise(int advice)
    {
        ThrowIfDisposed();
        Interop.Errors.ThrowIfNegative(Interop.Libc.MAdvise(_handle, (nuint)Length, advice), "madvise", DevicePath);
    }

    /// <summary>Unmaps the range, at once or when the last call or pin using it ends.</summary>
    public void Dispose()
    {
        _disposed = true;
        _handle.Dispose();
    }

    /// <summary>
    /// Takes a reference on the mapping for a scope: the range stays mapped until the lease is disposed.
    /// Library code passes <see cref="Lease.Address"/> to system calls only inside such a scope.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The mapping is disposed.</exception>
    internal Lease Acquire()
    {
        ThrowIfDisposed();
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            ThrowDisposed();
        }

        if (_disposed)
        {
            // Disposed between the check and the reference: give it back, so that the range is unmapped.
            _handle.DangerousRelease();
            ThrowDisposed();
        }

        return new Lease(_handle);
    }

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

    private int WholeSpanLength() => Length <= int.MaxValue
        ? (int)Length
        : throw new InvalidOperationException($"Mapping of {Length} bytes exceeds a span; use GetSpan or ForEachChunk.");

    private void ThrowIfReadOnly()
    {
        if (!IsWritable)
        {
            throw new InvalidOperationException(
                $"the mapping at 0x{BaseAddress:x} is read-only ({Protection}): use the read-only views (GetReadOnlySpan, GetReadOnlyMemory, ForEachReadOnlyChunk)");
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            ThrowDisposed();
        }
    }

    private void ThrowDisposed() => throw new ObjectDisposedException(nameof(MemphysMapping), $"the mapping at 0x{BaseAddress:x} is disposed");

    /// <summary>A reference on a <see cref="SafeMappingHandle"/>, released by <see cref="Dispose"/>.</summary>
    internal readonly ref struct Lease(SafeMappingHandle handle)
    {
        public nint Address => handle.DangerousGetHandle();

        public byte* Pointer => (byte*)Address;

        public void Dispose() => handle.DangerousRelease();
    }

    /// <summary>A window of the mapping as <see cref="Memory{T}"/>; each pin holds a reference until unpinned.</summary>
    private sealed class WindowManager(MemphysMapping owner, long offset, int length) : MemoryManager<byte>
    {
        public override Span<byte> GetSpan()
        {
            owner.ThrowIfDisposed();
            return new Span<byte>(owner.Pointer + offset, length);
        }

        public override MemoryHandle Pin(int elementIndex = 0)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, length);
            owner.Acquire(); // released by Unpin, which MemoryHandle.Dispose calls
            return new MemoryHandle(owner.Pointer + offset + elementIndex, default, this);
        }

        public override void Unpin() => owner._handle.DangerousRelease();

        protected override void Dispose(bool disposing)
        {
        }
    }
}
