using Memphys.Native;

namespace Memphys;

/// <summary>
/// A failed system call on a memphys device or mapping, carrying the errno and its symbolic name.
/// The message is one readable line, e.g.
/// <c>/dev/memphys0: mmap 0x40000000+0x80000000 past end of 1 GiB region (EINVAL)</c>.
/// </summary>
public sealed class MemphysException : IOException
{
    /// <summary>Creates an exception for <paramref name="errno"/> raised by <paramref name="operation"/>.</summary>
    /// <param name="errno">The Linux errno value.</param>
    /// <param name="operation">What was attempted, e.g. <c>open</c> or <c>mmap 0x0+0x1000</c>.</param>
    /// <param name="path">The device or file concerned, if any.</param>
    /// <param name="detail">An explanation replacing the C library's message, if one is known.</param>
    public MemphysException(int errno, string operation, string? path = null, string? detail = null)
        : base(Format(errno, operation, path, detail))
    {
        Errno = errno;
        ErrnoName = Interop.Errors.Name(errno);
        Operation = operation;
        DevicePath = path;
        Detail = detail;
        HResult = errno;
    }

    /// <summary>The Linux errno value.</summary>
    public int Errno { get; }

    /// <summary>The symbolic errno name, e.g. <c>EINVAL</c>.</summary>
    public string ErrnoName { get; }

    /// <summary>The operation that failed.</summary>
    public string Operation { get; }

    /// <summary>The device or file path concerned, if any.</summary>
    public string? DevicePath { get; }

    /// <summary>A specific explanation, if one was known; otherwise the C library's message is used.</summary>
    public string? Detail { get; }

    /// <summary>True for errors that mean "no device or not allowed": ENOENT, ENODEV, ENXIO, EACCES, EPERM.</summary>
    public bool IsAccessError => Errno is Interop.Errors.ENOENT or Interop.Errors.ENODEV or Interop.Errors.ENXIO
        or Interop.Errors.EACCES or Interop.Errors.EPERM;

    /// <summary>Formats the one-line message used by <see cref="Exception.Message"/>.</summary>
    internal static string Format(int errno, string operation, string? path, string? detail)
    {
        string prefix = path is null ? string.Empty : path + ": ";
        string body = detail is null
            ? $"{operation}: {Interop.Errors.Message(errno)}"
            : $"{operation} {detail}";
        return $"{prefix}{body} ({Interop.Errors.Name(errno)})";
    }
}
