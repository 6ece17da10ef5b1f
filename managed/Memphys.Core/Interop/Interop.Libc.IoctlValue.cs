using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    internal static partial class Libc
    {
        /// <summary>
        /// ioctl(2) whose argument is a plain integer, not a pointer (VFIO_CHECK_EXTENSION, VFIO_SET_IOMMU), or is
        /// unused (pass 0). On the Linux x86_64 and aarch64 ABIs the integer lands in the register the callee reads.
        /// </summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", SetLastError = true)]
        internal static partial int IoctlValue(SafeFileHandle fd, nuint request, nint argument);

        /// <summary>ioctl(2) whose argument is a NUL-terminated string (VFIO_GROUP_GET_DEVICE_FD).</summary>
        [LibraryImport(Libraries.Libc, EntryPoint = "ioctl", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
        internal static partial int IoctlString(SafeFileHandle fd, nuint request, string argument);
    }
}
