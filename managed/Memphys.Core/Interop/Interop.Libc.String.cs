using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>memset(3): the C library's fill, the native ceiling of the benchmark's write loop.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "memset")]
        internal static unsafe partial void* MemSet(void* destination, int value, nuint count);

        /// <summary>memcpy(3): the C library's copy, the native ceiling of the benchmark's copy loop.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "memcpy")]
        internal static unsafe partial void* MemCpy(void* destination, void* source, nuint count);
    }
}
