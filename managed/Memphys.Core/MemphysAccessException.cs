namespace Memphys;

/// <summary>
/// A system call refused for lack of permission (EACCES, EPERM): not root, no CAP_SYS_RAWIO, kernel lockdown, a
/// device node of another group. One readable line, e.g. <c>/dev/memphys0: open: Operation not permitted (EPERM)</c>.
/// </summary>
/// <remarks>Immutable and so safe to share between threads.</remarks>
public sealed class MemphysAccessException : UnauthorizedAccessException, IMemphysError
{
    private readonly ErrnoError _error;

    /// <summary>Creates an exception for <paramref name="errno"/> raised by <paramref name="operation"/>.</summary>
    /// <param name="errno">The Linux errno value (EACCES or EPERM).</param>
    /// <param name="operation">What was attempted.</param>
    /// <param name="path">The device or file concerned, if any.</param>
    /// <param name="detail">An explanation replacing the C library's message, if one is known.</param>
    public MemphysAccessException(int errno, string operation, string? path = null, string? detail = null)
        : this(new ErrnoError(errno, operation, path, detail))
    {
    }

    private MemphysAccessException(ErrnoError error)
        : base(error.Message) => _error = error.StampOn(this);

    /// <inheritdoc/>
    ErrnoError IMemphysError.Error => _error;
}
