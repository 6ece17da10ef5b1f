using System.Runtime.InteropServices;
using Memphys.Native;

namespace Memphys;

/// <summary>Owns a Linux file descriptor and closes it on release.</summary>
public sealed class SafeFileDescriptor : SafeHandle
{
    /// <summary>Creates an invalid (-1) handle; used by the marshaller.</summary>
    public SafeFileDescriptor()
        : base(new IntPtr(-1), ownsHandle: true)
    {
    }

    /// <summary>Wraps an existing descriptor.</summary>
    /// <param name="fd">The descriptor; must be non-negative.</param>
    /// <param name="ownsHandle">Whether disposing this handle closes <paramref name="fd"/>.</param>
    public SafeFileDescriptor(int fd, bool ownsHandle)
        : base(new IntPtr(-1), ownsHandle)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(fd);
        SetHandle(fd);
    }

    /// <inheritdoc/>
    public override bool IsInvalid => handle.ToInt64() < 0;

    /// <summary>Opens <paramref name="path"/> with open(2) and <c>O_CLOEXEC</c>.</summary>
    /// <exception cref="MemphysException">open failed; the errno is preserved.</exception>
    internal static SafeFileDescriptor Open(string path, int flags)
    {
        int fd = Interop.Libc.Open(path, flags | Interop.Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Interop.Errors.LastError("open", path);
        }

        return new SafeFileDescriptor(fd, ownsHandle: true);
    }

    /// <inheritdoc/>
    protected override bool ReleaseHandle() => Interop.Libc.Close((int)handle.ToInt64()) == 0;
}
