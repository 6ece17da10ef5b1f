using System.Runtime.InteropServices;

namespace Memphys.Native;

internal static partial class Interop
{
    /// <summary>Linux errno values (identical on x86_64 and aarch64) and their symbolic names.</summary>
    internal static class Errors
    {
        internal const int EPERM = 1;
        internal const int ENOENT = 2;
        internal const int EINTR = 4;
        internal const int EIO = 5;
        internal const int ENXIO = 6;
        internal const int EBADF = 9;
        internal const int EAGAIN = 11;
        internal const int ENOMEM = 12;
        internal const int EACCES = 13;
        internal const int EFAULT = 14;
        internal const int EBUSY = 16;
        internal const int ENODEV = 19;
        internal const int EINVAL = 22;
        internal const int ENOTTY = 25;
        internal const int EFBIG = 27;
        internal const int ENOSPC = 28;
        internal const int ESPIPE = 29;
        internal const int EROFS = 30;
        internal const int ERANGE = 34;
        internal const int ENOSYS = 38;
        internal const int ENODATA = 61;
        internal const int EPROTO = 71;
        internal const int EOVERFLOW = 75;
        internal const int EOPNOTSUPP = 95;

        private static readonly Dictionary<int, string> s_names = new()
        {
            [1] = "EPERM", [2] = "ENOENT", [3] = "ESRCH", [4] = "EINTR", [5] = "EIO", [6] = "ENXIO",
            [7] = "E2BIG", [8] = "ENOEXEC", [9] = "EBADF", [10] = "ECHILD", [11] = "EAGAIN", [12] = "ENOMEM",
            [13] = "EACCES", [14] = "EFAULT", [15] = "ENOTBLK", [16] = "EBUSY", [17] = "EEXIST", [18] = "EXDEV",
            [19] = "ENODEV", [20] = "ENOTDIR", [21] = "EISDIR", [22] = "EINVAL", [23] = "ENFILE", [24] = "EMFILE",
            [25] = "ENOTTY", [26] = "ETXTBSY", [27] = "EFBIG", [28] = "ENOSPC", [29] = "ESPIPE", [30] = "EROFS",
            [31] = "EMLINK", [32] = "EPIPE", [33] = "EDOM", [34] = "ERANGE", [35] = "EDEADLK", [36] = "ENAMETOOLONG",
            [37] = "ENOLCK", [38] = "ENOSYS", [39] = "ENOTEMPTY", [40] = "ELOOP", [61] = "ENODATA", [71] = "EPROTO",
            [75] = "EOVERFLOW", [95] = "EOPNOTSUPP", [110] = "ETIMEDOUT", [133] = "EHWPOISON",
        };

        /// <summary>Symbolic name of <paramref name="errno"/>, e.g. <c>EINVAL</c>; <c>errno N</c> when unknown.</summary>
        internal static string Name(int errno) =>
            s_names.TryGetValue(errno, out string? name) ? name : $"errno {errno}";

        /// <summary>The C library's message for <paramref name="errno"/> (strerror).</summary>
        internal static string Message(int errno) => Marshal.GetPInvokeErrorMessage(errno);

        /// <summary>
        /// The one place errno becomes an exception: reads the last P/Invoke error
        /// (all imports use <c>SetLastError = true</c>) and wraps it with the operation and path.
        /// </summary>
        internal static Exception LastError(string operation, string? path = null, string? detail = null) =>
            MemphysException.FromErrno(Marshal.GetLastPInvokeError(), operation, path, detail);

        /// <summary>Throws <see cref="LastError"/> when <paramref name="result"/> is negative; returns it otherwise.</summary>
        internal static int ThrowIfNegative(int result, string operation, string? path = null)
        {
            if (result < 0)
            {
                throw LastError(operation, path);
            }

            return result;
        }

        /// <inheritdoc cref="ThrowIfNegative(int, string, string?)"/>
        internal static long ThrowIfNegative(nint result, string operation, string? path = null)
        {
            if (result < 0)
            {
                throw LastError(operation, path);
            }

            return result;
        }
    }
}
