using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        // <sys/mman.h>, asm-generic values (x86_64 and aarch64); checked against the C headers by a unit test.
        internal const int PROT_NONE = 0x0;
        internal const int PROT_READ = 0x1;
        internal const int PROT_WRITE = 0x2;
        internal const int MAP_SHARED = 0x01;
        internal const int MAP_PRIVATE = 0x02;
        internal const int MAP_FIXED = 0x10;
        internal const int MAP_ANONYMOUS = 0x20;
        internal const int MAP_NORESERVE = 0x4000;
        internal const int MAP_POPULATE = 0x8000;
        internal const int MS_ASYNC = 1;
        internal const int MS_INVALIDATE = 2;
        internal const int MS_SYNC = 4;
        internal const int MADV_NORMAL = 0;
        internal const int MADV_DONTNEED = 4;
        internal const int MADV_HUGEPAGE = 14;
        internal const int MADV_NOHUGEPAGE = 15;

        /// <summary>The value mmap(2) returns on failure.</summary>
        internal static readonly nint MAP_FAILED = -1;

        [LibraryImport(Libraries.Libc, EntryPoint = "mmap", SetLastError = true)]
        internal static partial nint MMap(nint address, nuint length, int protection, int flags, SafeFileHandle fd, long offset);

        /// <summary>mmap(2) without a file (fd = -1), for anonymous mappings.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "mmap", SetLastError = true)]
        internal static partial nint MMapAnonymous(nint address, nuint length, int protection, int flags, int fd, long offset);

        [LibraryImport(Libraries.Libc, EntryPoint = "munmap", SetLastError = true)]
        internal static partial int MUnmap(nint address, nuint length);

        // The calls on a whole mapping take its SafeMappingHandle, as dotnet/runtime does for descriptors: the
        // marshaller holds a reference on it for the duration of the call, so a concurrent Dispose cannot unmap the
        // range (and let another mapping take its address) between the disposal check and the system call.
        [LibraryImport(Libraries.Libc, EntryPoint = "madvise", SetLastError = true)]
        internal static partial int MAdvise(SafeMappingHandle mapping, nuint length, int advice);

        /// <summary>mprotect(2); raw addresses, for tests of the kernel's VMA handling.</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "mprotect", SetLastError = true)]
        internal static partial int MProtect(nint address, nuint length, int protection);

        /// <summary>mremap(2) with a fixed target (flags MREMAP_MAYMOVE | MREMAP_FIXED) or none (0).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "mremap", SetLastError = true)]
        internal static partial nint MRemap(nint address, nuint oldLength, nuint newLength, int flags, nint newAddress);

        [LibraryImport(Libraries.Libc, EntryPoint = "mincore", SetLastError = true)]
        internal static unsafe partial int MinCore(nint address, nuint length, byte* vector);

        [LibraryImport(Libraries.Libc, EntryPoint = "msync", SetLastError = true)]
        internal static partial int MSync(SafeMappingHandle mapping, nuint length, int flags);

        [LibraryImport(Libraries.Libc, EntryPoint = "mlock", SetLastError = true)]
        internal static partial int MLock(SafeMappingHandle mapping, nuint length);

        [LibraryImport(Libraries.Libc, EntryPoint = "munlock", SetLastError = true)]
        internal static partial int MUnlock(SafeMappingHandle mapping, nuint length);
    }
}
