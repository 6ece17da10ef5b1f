namespace Memphys;

/// <summary>
/// What every exception of a failed system call carries, whichever standard type it is: an
/// <see cref="IOException"/> (<see cref="MemphysException"/>), an <see cref="UnauthorizedAccessException"/>
/// (<see cref="MemphysAccessException"/>: EACCES, EPERM) or an <see cref="ArgumentException"/>
/// (<see cref="MemphysArgumentException"/>: EINVAL, ERANGE, EOVERFLOW).
/// </summary>
/// <remarks>
/// Catch the standard type you handle; test for this interface to read the errno, e.g.
/// <c>catch (IOException e) when (e is IMemphysError { ErrnoName: "EBUSY" })</c>. Only the three exception types of
/// this library implement it: the members below read the one record they share.
/// </remarks>
public interface IMemphysError
{
    /// <summary>The Linux errno value.</summary>
    int Errno => Error.Errno;

    /// <summary>The symbolic errno name, e.g. <c>EINVAL</c>.</summary>
    string ErrnoName => Error.ErrnoName;

    /// <summary>The operation that failed, e.g. <c>open</c> or <c>mmap 0x0+0x1000</c>.</summary>
    string Operation => Error.Operation;

    /// <summary>The device or file path concerned, if any.</summary>
    string? DevicePath => Error.DevicePath;

    /// <summary>A specific explanation, if one was known; otherwise the message has the C library's text.</summary>
    string? Detail => Error.Detail;

    /// <summary>The errno, operation, path and detail of the failure, and its message.</summary>
    internal ErrnoError Error { get; }
}
