namespace Memphys.Vfio;

/// <summary>
/// A region of a <see cref="VfioDevice"/> (a BAR) mapped into this process: its registers are read and written with
/// single volatile loads and stores of the register's width, which is what memory-mapped I/O needs.
/// </summary>
public sealed unsafe class VfioRegionMapping : IDisposable
{
    private readonly SafeMappingHandle _handle;

    internal VfioRegionMapping(VfioRegionInfo region, SafeMappingHandle handle)
    {
        Region = region;
        _handle = handle;
    }

    /// <summary>The region this maps.</summary>
    public VfioRegionInfo Region { get; }

    /// <summary>Length of the mapping in bytes.</summary>
    public ulong Length => _handle.Length;

    /// <summary>Reads the 32-bit register at <paramref name="offset"/>.</summary>
    public uint Read32(ulong offset) => Volatile.Read(ref *(uint*)Address(offset, 4));

    /// <summary>Writes the 32-bit register at <paramref name="offset"/>.</summary>
    public void Write32(ulong offset, uint value) => Volatile.Write(ref *(uint*)Address(offset, 4), value);

    /// <summary>Reads the 64-bit register at <paramref name="offset"/>.</summary>
    public ulong Read64(ulong offset) => Volatile.Read(ref *(ulong*)Address(offset, 8));

    /// <summary>Writes the 64-bit register at <paramref name="offset"/>.</summary>
    public void Write64(ulong offset, ulong value) => Volatile.Write(ref *(ulong*)Address(offset, 8), value);

    /// <summary>Unmaps the region.</summary>
    public void Dispose() => _handle.Dispose();

    private byte* Address(ulong offset, uint width)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (offset % width != 0 || offset > Length - width)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), $"register 0x{offset:x} of width {width} is not an aligned offset in the 0x{Length:x}-byte region");
        }

        return (byte*)_handle.DangerousGetHandle() + offset;
    }
}
