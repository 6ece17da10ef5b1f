using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>pread(2) at an absolute file offset.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "pread", SetLastError = true)]
        internal static unsafe partial nint PRead(SafeFileHandle fd, byte* buffer, nuint count, long offset);

        /// <summary>pwrite(2) at an absolute file offset.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "pwrite", SetLastError = true)]
        internal static unsafe partial nint PWrite(SafeFileHandle fd, byte* buffer, nuint count, long offset);

        /// <summary>lseek(2).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "lseek", SetLastError = true)]
        internal static partial long LSeek(SafeFileHandle fd, long offset, int whence);

        /// <summary>geteuid(2); cannot fail.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "geteuid", SetLastError = true)]
        internal static partial uint GetEUid();
    }
}
