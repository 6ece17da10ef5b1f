namespace Memphys;

/// <summary>Where the toolkit can run: a 64-bit Linux process.</summary>
internal static class Platform
{
    /// <summary>The one-line reason a 32-bit process is refused.</summary>
    public const string ThirtyTwoBitMessage =
        "memphys needs a 64-bit process: in a 32-bit one, off_t and size_t are 32 bits wide, so mmap/pread offsets and " +
        "mapping lengths of a 1 GiB+ region cannot be passed (use a 64-bit .NET runtime; on 32-bit kernels use the C interface)";

    /// <summary>Null when the toolkit can run in a process of this bitness, otherwise the reason it cannot.</summary>
    public static string? UnsupportedReason(bool is64BitProcess) => is64BitProcess ? null : ThirtyTwoBitMessage;

    /// <summary>Throws <see cref="PlatformNotSupportedException"/> with <see cref="ThirtyTwoBitMessage"/> in a 32-bit process.</summary>
    public static void ThrowIfUnsupported() => ThrowIfUnsupported(Environment.Is64BitProcess);

    /// <inheritdoc cref="ThrowIfUnsupported()"/>
    public static void ThrowIfUnsupported(bool is64BitProcess)
    {
        if (UnsupportedReason(is64BitProcess) is { } reason)
        {
            throw new PlatformNotSupportedException(reason);
        }
    }
}
