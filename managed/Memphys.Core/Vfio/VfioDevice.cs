using System.Buffers.Binary;
using Memphys.Native;
using Memphys.Pci;

namespace Memphys.Vfio;

/// <summary>
/// A device opened through its <see cref="VfioGroup"/>: its regions (BARs, configuration space) are read, written
/// and mapped through this descriptor at the offsets <see cref="GetRegionInfo"/> reports.
/// </summary>
internal sealed unsafe class VfioDevice : IDisposable
{
    private readonly SafeFileHandle _fd;

    internal VfioDevice(string name, SafeFileHandle fd)
    {
        Name = name;
        _fd = fd;
    }

    /// <summary>The device's name in its group (for PCI, its address).</summary>
    public string Name { get; }

    /// <summary><c>VFIO_DEVICE_GET_INFO</c>.</summary>
    public VfioDeviceInfo GetInfo()
    {
        var info = new VfioDeviceInfoNative { ArgSz = (uint)sizeof(VfioDeviceInfoNative) };
        Interop.Errors.ThrowIfNegative(Interop.Libc.Ioctl(_fd, VfioUapi.DeviceGetInfo, &info), "ioctl VFIO_DEVICE_GET_INFO", Name);
        return new VfioDeviceInfo((VfioDeviceFlags)info.Flags, info.NumRegions, info.NumIrqs);
    }

    /// <summary><c>VFIO_DEVICE_GET_REGION_INFO</c> of region <paramref name="index"/>.</summary>
    /// <exception cref="MemphysException">EINVAL for an index past the device's regions.</exception>
    public VfioRegionInfo GetRegionInfo(uint index)
    {
        var region = new VfioRegionInfoNative { ArgSz = (uint)sizeof(VfioRegionInfoNative), Index = index };
        Interop.Errors.ThrowIfNegative(Interop.Libc.Ioctl(_fd, VfioUapi.DeviceGetRegionInfo, &region),
            $"ioctl VFIO_DEVICE_GET_REGION_INFO {index}", Name);
        return new VfioRegionInfo(region.Index, (VfioRegionFlags)region.Flags, region.Size, region.Offset);
    }

    /// <summary>Maps region <paramref name="index"/> (a BAR) read-write and shared, as a register window.</summary>
    /// <exception cref="MemphysException">ENXIO when the region is absent or cannot be mapped; mmap's errno otherwise.</exception>
    public MmioWindow MapRegion(uint index)
    {
        VfioRegionInfo region = GetRegionInfo(index);
        if ((region.Flags & VfioRegionFlags.Mmap) == 0 || region.Size == 0)
        {
            throw new MemphysException(Interop.Errors.ENXIO, $"mmap region {index}", Name,
                $"is not mappable (flags {region.Flags}, {region.Size} bytes)");
        }

        return MmioWindow.Map(_fd, checked((long)region.Offset), checked((long)region.Size), $"{Name} VFIO region {index}");
    }

    /// <summary>Resets the device (<c>VFIO_DEVICE_RESET</c>).</summary>
    /// <exception cref="MemphysException">EINVAL or ENOTTY when the device has no reset (<see cref="VfioDeviceFlags.Reset"/> unset).</exception>
    public void Reset() =>
        Interop.Errors.ThrowIfNegative(Interop.Libc.IoctlValue(_fd, VfioUapi.DeviceReset, 0), "ioctl VFIO_DEVICE_RESET", Name);

    /// <summary>Reads a 16-bit little-endian field of a PCI device's configuration space.</summary>
    public ushort ReadConfig16(uint offset)
    {
        byte* value = stackalloc byte[2];
        ConfigTransfer(offset, value, 2, write: false);
        return BinaryPrimitives.ReadUInt16LittleEndian(new ReadOnlySpan<byte>(value, 2));
    }

    /// <summary>Writes a 16-bit little-endian field of a PCI device's configuration space.</summary>
    public void WriteConfig16(uint offset, ushort value)
    {
        byte* bytes = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(new Span<byte>(bytes, 2), value);
        ConfigTransfer(offset, bytes, 2, write: true);
    }

    /// <summary>
    /// Sets Memory Space and Bus Master in a PCI device's command register: without Bus Master a device's DMA requests
    /// are never issued, and vfio-pci leaves the bit as the device came.
    /// </summary>
    public void EnableBusMaster()
    {
        const uint command = PciFunction.CommandRegister;
        WriteConfig16(command, (ushort)(ReadConfig16(command) | PciFunction.CommandMemorySpace | PciFunction.CommandBusMaster));
    }

    /// <summary>Closes the device.</summary>
    public void Dispose() => _fd.Dispose();

    private void ConfigTransfer(uint offset, byte* buffer, int count, bool write)
    {
        VfioRegionInfo config = GetRegionInfo(VfioUapi.PciConfigRegionIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan((ulong)offset + (ulong)count, config.Size, nameof(offset));
        long position = (long)(config.Offset + offset);
        string operation = $"{(write ? "pwrite" : "pread")} config 0x{offset:x}+{count}";
        nint done = write
            ? Interop.Libc.PWrite(_fd, buffer, (nuint)count, position)
            : Interop.Libc.PRead(_fd, buffer, (nuint)count, position);
        Interop.Errors.ThrowIfNegative(done, operation, Name);
        if (done != count)
        {
            throw new MemphysException(Interop.Errors.EIO, operation, Name, $"transferred {done} of {count} bytes");
        }
    }
}
