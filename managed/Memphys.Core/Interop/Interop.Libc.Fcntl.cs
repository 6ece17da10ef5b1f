using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <fcntl.h>, asm-generic values (x86_64 and aarch64); checked against the C headers by a unit test.
        internal const int O_RDONLY = 0x0;
        internal const int O_WRONLY = 0x1;
        internal const int O_RDWR = 0x2;
        internal const int O_CLOEXEC = 0x80000;

        /// <summary>open(2). Returns the raw descriptor or -1: wrap the result, never marshal it as a SafeHandle.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int Open(string path, int flags, int mode);

        /// <summary>close(2). Only called by SafeFileHandle.ReleaseHandle (of handles this library opens).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "close", SetLastError = true)]
        internal static partial int Close(int fd);
    }
}
