using Memphys.Native;

namespace Memphys.Pci;

/// <summary>
/// Registers of a device mapped with mmap(2) (MAP_SHARED, read-write) from a file that exposes them: a PCI
/// function's sysfs <c>resourceN</c> (<see cref="PciFunction.MapResource"/>) or a region of a VFIO device file.
/// Disposing unmaps it; an access racing with <see cref="Dispose"/> either completes on the mapping or throws
/// <see cref="ObjectDisposedException"/>, never touches an unmapped address.
/// </summary>
internal sealed unsafe class MmioWindow : IRegisterWindow, IDisposable
{
    private readonly SafeMappingHandle _handle;

    private MmioWindow(SafeMappingHandle handle, string description)
    {
        _handle = handle;
        Length = checked((long)handle.Length);
        Description = description;
    }

    /// <inheritdoc/>
    public long Length { get; }

    /// <summary>What is mapped, for messages: e.g. <c>/sys/bus/pci/devices/0000:00:01.0/resource0</c>.</summary>
    public string Description { get; }

    /// <summary>Maps <paramref name="length"/> bytes of the file at <paramref name="path"/> from <paramref name="offset"/>.</summary>
    /// <exception cref="MemphysException">open or mmap failed; the errno is preserved.</exception>
    public static MmioWindow Map(string path, long offset, long length)
    {
        using SafeFileHandle fd = FileDescriptor.Open(path, Interop.Libc.O_RDWR);
        return Map(fd, offset, length, path);
    }

    /// <summary>
    /// Maps <paramref name="length"/> bytes of the open file <paramref name="fd"/> from <paramref name="offset"/>
    /// (e.g. a VFIO device at a region's offset); the mapping outlives the descriptor.
    /// </summary>
    /// <exception cref="MemphysException">mmap failed; the errno is preserved.</exception>
    public static MmioWindow Map(SafeFileHandle fd, long offset, long length, string description)
    {
        ArgumentNullException.ThrowIfNull(fd);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Platform.ThrowIfUnsupported();
        SafeMappingHandle handle = SafeMappingHandle.Map(0, (nuint)length, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE,
            Interop.Libc.MAP_SHARED, fd, offset,
            errno => MemphysException.FromErrno(errno, $"mmap 0x{offset:x}+0x{length:x}", description));
        return new MmioWindow(handle, description);
    }

    /// <inheritdoc/>
    public uint Read32(long offset)
    {
        using Access access = Enter(offset, sizeof(uint));
        return Volatile.Read(ref *(uint*)access.Address);
    }

    /// <inheritdoc/>
    public void Write32(long offset, uint value)
    {
        using Access access = Enter(offset, sizeof(uint));
        Volatile.Write(ref *(uint*)access.Address, value);
    }

    /// <inheritdoc/>
    public ulong Read64(long offset)
    {
        using Access access = Enter(offset, sizeof(ulong));
        return Volatile.Read(ref *(ulong*)access.Address);
    }

    /// <inheritdoc/>
    public void Write64(long offset, ulong value)
    {
        using Access access = Enter(offset, sizeof(ulong));
        Volatile.Write(ref *(ulong*)access.Address, value);
    }

    /// <summary>Unmaps the window once no access holds it.</summary>
    public void Dispose() => _handle.Dispose();

    private Access Enter(long offset, int width)
    {
        if (offset < 0 || offset > Length - width || offset % width != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset,
                $"a {width * 8}-bit register access needs a {width}-byte aligned offset inside the 0x{Length:x}-byte window of {Description}");
        }

        bool added = false;
        _handle.DangerousAddRef(ref added);
        return new Access(_handle, (byte*)_handle.DangerousGetHandle() + offset);
    }

    /// <summary>Holds a reference on the mapping for one register access.</summary>
    private readonly ref struct Access(SafeMappingHandle handle, byte* address)
    {
        public byte* Address { get; } = address;

        public void Dispose() => handle.DangerousRelease();
    }
}
