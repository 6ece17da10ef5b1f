using Memphys.Native;

namespace Memphys;

/// <summary>
/// What the three exception types of a failed system call carry (<see cref="IMemphysError"/>) and their one-line
/// message, in one place: the types differ only in the standard base class .NET code catches.
/// </summary>
/// <param name="Errno">The Linux errno value.</param>
/// <param name="Operation">What was attempted, e.g. <c>open</c> or <c>mmap 0x0+0x1000</c>.</param>
/// <param name="DevicePath">The device or file concerned, if any.</param>
/// <param name="Detail">An explanation replacing the C library's message, if one is known.</param>
internal sealed record ErrnoError(int Errno, string Operation, string? DevicePath, string? Detail)
{
    /// <summary>The symbolic errno name, e.g. <c>EINVAL</c>.</summary>
    public string ErrnoName => Interop.Errors.Name(Errno);

    /// <summary>
    /// The message: <c>PATH: OPERATION DETAIL (ENAME)</c>, or with the C library's text when there is no detail.
    /// </summary>
    public string Message
    {
        get
        {
            string prefix = DevicePath is null ? string.Empty : DevicePath + ": ";
            string body = Detail is null ? $"{Operation}: {Interop.Errors.Message(Errno)}" : $"{Operation} {Detail}";
            return $"{prefix}{body} ({ErrnoName})";
        }
    }

    /// <summary>Sets the exception's <see cref="Exception.HResult"/> to the errno and returns the error.</summary>
    public ErrnoError StampOn(Exception exception)
    {
        exception.HResult = Errno;
        return this;
    }
}
