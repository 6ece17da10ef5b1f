using Memphys.Native;

namespace Memphys;

// dma-buf export (MEMPHYS_IOC_EXPORT_DMABUF), in a file of its own.
public sealed unsafe partial class MemphysDevice
{
    /// <summary>
    /// Exports [<paramref name="offset"/>, +<paramref name="length"/>) of the region as a dma-buf, which other drivers
    /// import (V4L2 <c>V4L2_MEMORY_DMABUF</c>, DRM PRIME) and which can itself be mapped. Several exports of one
    /// region may live at once; each keeps the module loaded until it is released.
    /// </summary>
    /// <param name="offset">Byte offset in the region, page-aligned.</param>
    /// <param name="length">Bytes, page-aligned, more than 0.</param>
    /// <param name="writable">O_RDWR (needs a device opened read-write), else O_RDONLY.</param>
    /// <param name="closeOnExec">O_CLOEXEC on the new descriptor; false to hand it to a child process.</param>
    /// <exception cref="MemphysException">
    /// EINVAL (length 0, unaligned), ERANGE (not inside the region), EACCES (writable from a read-only open),
    /// EOPNOTSUPP (a kernel without dma-buf), ENOTTY (a driver older than UAPI version 4), EMFILE.
    /// </exception>
    public SafeDmaBufHandle ExportDmaBuf(long offset, long length, bool writable = true, bool closeOnExec = true)
    {
        MemphysDmaBufExportNative request = new()
        {
            Offset = (ulong)offset,
            Length = (ulong)length,
            Flags = (uint)((writable ? Interop.Libc.O_RDWR : Interop.Libc.O_RDONLY) | (closeOnExec ? Interop.Libc.O_CLOEXEC : 0)),
            Fd = -1,
        };
        Ioctl(Uapi.IocExportDmaBuf, &request, $"ioctl EXPORT_DMABUF 0x{offset:x}+0x{length:x}");
        return new SafeDmaBufHandle(request.Fd, offset, length, writable);
    }
}
