using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>
        /// ioctl(2) with a pointer argument. ioctl is variadic in C; on the Linux x86_64 and aarch64
        /// ABIs a single pointer passed as a fixed argument lands where the callee reads it.
        /// </summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static unsafe partial int Ioctl(SafeFileHandle fd, nuint request, void* argument);
    }
}
