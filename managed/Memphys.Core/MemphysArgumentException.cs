namespace Memphys;

/// <summary>
/// A value the driver or the kernel refused (EINVAL, ERANGE, EOVERFLOW): a range past the region's end, an
/// unaligned offset, a fault-around that is not a power of two. One readable line, e.g.
/// <c>/dev/memphys0: mmap 0x40000000+0x80000000 past end of 1 GiB region (EINVAL)</c>.
/// </summary>
/// <remarks>Immutable and so safe to share between threads.</remarks>
public sealed class MemphysArgumentException : ArgumentException, IMemphysError
{
    private readonly ErrnoError _error;

    /// <summary>Creates an exception for <paramref name="errno"/> raised by <paramref name="operation"/>.</summary>
    /// <param name="errno">The Linux errno value (EINVAL, ERANGE or EOVERFLOW).</param>
    /// <param name="operation">What was attempted.</param>
    /// <param name="path">The device or file concerned, if any.</param>
    /// <param name="detail">An explanation replacing the C library's message, if one is known.</param>
    public MemphysArgumentException(int errno, string operation, string? path = null, string? detail = null)
        : this(new ErrnoError(errno, operation, path, detail))
    {
    }

    private MemphysArgumentException(ErrnoError error)
        : base(error.Message) => _error = error.StampOn(this);

    /// <inheritdoc/>
    ErrnoError IMemphysError.Error => _error;
}
