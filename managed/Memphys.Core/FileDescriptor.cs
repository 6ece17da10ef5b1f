using Memphys.Native;

namespace Memphys;

/// <summary>
/// Opens files with open(2) into a <see cref="SafeFileHandle"/>: the standard handle, so that
/// <see cref="RandomAccess"/> (pread/pwrite) works on it, with the errno kept in the exception.
/// </summary>
internal static class FileDescriptor
{
    /// <summary>Opens <paramref name="path"/> with open(2) and <c>O_CLOEXEC</c>.</summary>
    /// <exception cref="IOException">open failed; see <see cref="Interop.Errors.LastError"/> for the type per errno.</exception>
    internal static SafeFileHandle Open(string path, int flags)
    {
        int fd = Interop.Libc.Open(path, flags | Interop.Libc.O_CLOEXEC, 0);
        if (fd < 0)
        {
            throw Interop.Errors.LastError("open", path);
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }
}
