using Memphys.Native;

namespace Memphys;

/// <summary>
/// A failed system call on a memphys device or mapping, carrying the errno and its symbolic name. The message is
/// one readable line, e.g. <c>/dev/memphys0: ioctl SET_CACHING wc refused: the region is wb ... (EBUSY)</c>.
/// Refusals for permission are <see cref="MemphysAccessException"/>, refused values
/// <see cref="MemphysArgumentException"/>; all three implement <see cref="IMemphysError"/>.
/// </summary>
/// <remarks>Immutable and so safe to share between threads.</remarks>
public sealed class MemphysException : IOException, IMemphysError
{
    private readonly ErrnoError _error;

    /// <summary>Creates an exception for <paramref name="errno"/> raised by <paramref name="operation"/>.</summary>
    /// <param name="errno">The Linux errno value.</param>
    /// <param name="operation">What was attempted, e.g. <c>open</c> or <c>mmap 0x0+0x1000</c>.</param>
    /// <param name="path">The device or file concerned, if any.</param>
    /// <param name="detail">An explanation replacing the C library's message, if one is known.</param>
    public MemphysException(int errno, string operation, string? path = null, string? detail = null)
        : this(new ErrnoError(errno, operation, path, detail))
    {
    }

    private MemphysException(ErrnoError error)
        : base(error.Message) => _error = error.StampOn(this);

    /// <inheritdoc/>
    ErrnoError IMemphysError.Error => _error;

    /// <summary>True for errors that mean "no device or not allowed": ENOENT, ENODEV, ENXIO, EACCES, EPERM.</summary>
    public bool IsAccessError => IsAccessErrno(_error.Errno);

    /// <summary>
    /// The exception of the standard type for <paramref name="errno"/>: <see cref="MemphysAccessException"/> for
    /// EACCES/EPERM, <see cref="MemphysArgumentException"/> for EINVAL/ERANGE/EOVERFLOW, otherwise this type.
    /// </summary>
    public static Exception FromErrno(int errno, string operation, string? path = null, string? detail = null) => errno switch
    {
        Interop.Errors.EACCES or Interop.Errors.EPERM => new MemphysAccessException(errno, operation, path, detail),
        Interop.Errors.EINVAL or Interop.Errors.ERANGE or Interop.Errors.EOVERFLOW => new MemphysArgumentException(errno, operation, path, detail),
        _ => new MemphysException(errno, operation, path, detail),
    };

    /// <summary>True for errors that mean "no device or not allowed": ENOENT, ENODEV, ENXIO, EACCES, EPERM.</summary>
    public static bool IsAccessErrno(int errno) => errno is Interop.Errors.ENOENT or Interop.Errors.ENODEV or Interop.Errors.ENXIO
        or Interop.Errors.EACCES or Interop.Errors.EPERM;
}
