namespace Memphys.Pci;

/// <summary>
/// A device's memory-mapped registers (a BAR): exact-width 32- and 64-bit loads and stores at byte offsets. A
/// device model may ignore or misread an access of another width, so every call is exactly one access of its width.
/// Implemented by <see cref="MmioWindow"/> over any mmap-able file: a sysfs <c>resourceN</c> of a PCI function or a
/// VFIO device region.
/// </summary>
internal interface IRegisterWindow
{
    /// <summary>Length of the window in bytes.</summary>
    long Length { get; }

    /// <summary>One 32-bit load at <paramref name="offset"/> (4-byte aligned, inside the window).</summary>
    uint Read32(long offset);

    /// <summary>One 32-bit store at <paramref name="offset"/> (4-byte aligned, inside the window).</summary>
    void Write32(long offset, uint value);

    /// <summary>One 64-bit load at <paramref name="offset"/> (8-byte aligned, inside the window).</summary>
    ulong Read64(long offset);

    /// <summary>One 64-bit store at <paramref name="offset"/> (8-byte aligned, inside the window).</summary>
    void Write64(long offset, ulong value);
}
