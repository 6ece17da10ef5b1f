using Memphys.Native;

namespace Memphys;

/// <summary>
/// A system call refused for lack of permission (EACCES, EPERM): not root, no CAP_SYS_RAWIO, kernel lockdown, a
/// device node of another group. One readable line, e.g. <c>/dev/memphys0: open: Operation not permitted (EPERM)</c>.
/// </summary>
/// <remarks>Immutable and so safe to share between threads.</remarks>
public sealed class MemphysAccessException : UnauthorizedAccessException, IMemphysError
{
    /// <summary>Creates an exception for <paramref name="errno"/> raised by <paramref name="operation"/>.</summary>
    /// <param name="errno">The Linux errno value (EACCES or EPERM).</param>
    /// <param name="operation">What was attempted.</param>
    /// <param name="path">The device or file concerned, if any.</param>
    /// <param name="detail">An explanation replacing the C library's message, if one is known.</param>
    public MemphysAccessException(int errno, string operation, string? path = null, string? detail = null)
        : base(MemphysException.Format(errno, operation, path, detail))
    {
        Errno = errno;
        ErrnoName = Interop.Errors.Name(errno);
        Operation = operation;
        DevicePath = path;
        Detail = detail;
        HResult = errno;
    }

    /// <inheritdoc/>
    public int Errno { get; }

    /// <inheritdoc/>
    public string ErrnoName { get; }

    /// <inheritdoc/>
    public string Operation { get; }

    /// <inheritdoc/>
    public string? DevicePath { get; }

    /// <inheritdoc/>
    public string? Detail { get; }
}
