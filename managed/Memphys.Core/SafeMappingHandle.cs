using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys;

/// <summary>
/// A <see cref="SafeBuffer"/> over an mmap(2)ed range; releasing it calls munmap(2).
/// The byte length is the mapping's length, so <see cref="SafeBuffer.ByteLength"/>,
/// <see cref="SafeBuffer.Read{T}(ulong)"/> and friends are bounds-checked against it.
/// </summary>
internal sealed class SafeMappingHandle : SafeBuffer
{
    private readonly nuint _length;

    /// <summary>Takes ownership of a mapping returned by mmap.</summary>
    /// <param name="address">Start of the mapping (not MAP_FAILED).</param>
    /// <param name="length">Length in bytes that munmap will release.</param>
    internal SafeMappingHandle(nint address, nuint length)
        : base(ownsHandle: true)
    {
        _length = length;
        SetHandle(address);
        Initialize(length);
    }

    /// <summary>Length of the mapping in bytes.</summary>
    public ulong Length => _length;

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Interop.Libc.MUnmap(handle, _length) == 0;

    /// <summary>Maps with mmap(2); throws <see cref="MemphysException"/> on MAP_FAILED.</summary>
    internal static SafeMappingHandle Map(nint hint, nuint length, int protection, int flags, SafeFileHandle? fd, long offset,
        Func<int, Exception>? onError = null)
    {
        nint address = fd is null
            ? Interop.Libc.MMapAnonymous(hint, length, protection, flags, -1, offset)
            : Interop.Libc.MMap(hint, length, protection, flags, fd, offset);
        if (address == Interop.Libc.MAP_FAILED)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw onError?.Invoke(errno) ?? MemphysException.FromErrno(errno, $"mmap 0x{offset:x}+0x{length:x}");
        }

        return new SafeMappingHandle(address, length);
    }
}
