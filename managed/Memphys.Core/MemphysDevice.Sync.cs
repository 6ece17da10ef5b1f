using Memphys.Native;

namespace Memphys;

public sealed unsafe partial class MemphysDevice
{
    /// <summary>
    /// Cache maintenance around a device's DMA into or out of <paramref name="length"/> bytes of the region at
    /// <paramref name="offset"/> (MEMPHYS_IOC_SYNC); the range need not be aligned, every cache line it touches is
    /// maintained. Only a write-back region of a device whose DMA does not snoop the CPU caches (arm64 without
    /// <c>dma-coherent</c>) needs it; elsewhere the driver checks the range and says why nothing was needed.
    /// </summary>
    /// <returns>Whether the lines were maintained, or why that was not needed.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A negative offset or length.</exception>
    /// <exception cref="MemphysArgumentException">
    /// EINVAL for a zero length or an unknown direction, ERANGE for a range not wholly inside the region.
    /// </exception>
    /// <exception cref="MemphysException">EINTR when a fatal signal ended a long sync.</exception>
    public SyncResult Sync(long offset, long length, SyncDirection direction)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        string operation = $"ioctl SYNC 0x{offset:x}+0x{length:x} {direction.ParameterName()}";
        return SyncRaw((ulong)offset, (ulong)length, (uint)direction, 0, operation);
    }

    /// <summary>
    /// MEMPHYS_IOC_SYNC with every field as given, <paramref name="flags"/> included, so that tests can send what
    /// <see cref="Sync"/> never does (unknown directions, flags). The errno's meaning is added to the message.
    /// </summary>
    internal SyncResult SyncRaw(ulong offset, ulong length, uint direction, uint flags, string operation)
    {
        MemphysSyncNative sync = new() { Offset = offset, Length = length, Direction = direction, Flags = flags };
        if (Interop.Libc.Ioctl(_fd, Uapi.IocSync, &sync) < 0)
        {
            Exception error = Interop.Errors.LastError(operation, Path);
            int errno = ((IMemphysError)error).Errno;
            string? detail = errno switch
            {
                Interop.Errors.ERANGE => "refused: the range is not wholly inside the region",
                Interop.Errors.EINVAL => "refused: the length is 0, or the direction or flags unknown",
                _ => null,
            };
            throw detail is null ? error : MemphysException.FromErrno(errno, operation, Path, detail);
        }

        return (SyncResult)sync.Result;
    }
}
