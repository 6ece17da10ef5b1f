using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys;

/// <summary>
/// Owns the file descriptor of a dma-buf that <see cref="MemphysDevice.ExportDmaBuf"/> exported, and closes it on
/// release. The dma-buf itself lives while any holder has it (this descriptor, a copy passed to another process,
/// an importing driver such as a V4L2 queue): until the last lets go, memphys cannot be unloaded.
/// </summary>
/// <remarks>
/// Thread-safe as every <see cref="SafeHandle"/>: one thread may dispose it while others use <see cref="Fd"/>; the
/// descriptor stays open until the last of them is done.
/// </remarks>
public sealed class SafeDmaBufHandle : SafeHandle
{
    internal SafeDmaBufHandle(int fd, long offset, long length, bool writable)
        : base(new IntPtr(-1), ownsHandle: true)
    {
        SetHandle(fd);
        Offset = offset;
        Length = length;
        Writable = writable;
    }

    /// <summary>The descriptor number, to hand to an importer (e.g. <c>v4l2_buffer.m.fd</c>).</summary>
    public int Fd => (int)handle.ToInt64();

    /// <summary>Where the exported range starts in the region (bytes).</summary>
    public long Offset { get; }

    /// <summary>The size of the dma-buf (bytes).</summary>
    public long Length { get; }

    /// <summary>Whether the dma-buf was exported O_RDWR (else O_RDONLY: no writable shared mapping of it).</summary>
    public bool Writable { get; }

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>What the kernel reports of the descriptor in <c>/proc/self/fdinfo</c>.</summary>
    public DmaBufInfo ReadInfo() => DmaBufInfo.Read(Fd);

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle.ToInt64()) == 0;
}
