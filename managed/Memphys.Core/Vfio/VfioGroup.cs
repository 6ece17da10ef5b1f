using System.Globalization;
using Memphys.Native;

namespace Memphys.Vfio;

/// <summary>
/// A VFIO group (<c>/dev/vfio/N</c>): the devices an IOMMU cannot tell apart, which are given to user space together.
/// It is attached to a <see cref="VfioContainer"/> before its devices can be opened.
/// </summary>
internal sealed unsafe class VfioGroup : IDisposable
{
    private readonly SafeFileHandle _fd;

    private VfioGroup(int number, string path, SafeFileHandle fd)
    {
        Number = number;
        Path = path;
        _fd = fd;
    }

    /// <summary>The IOMMU group number.</summary>
    public int Number { get; }

    /// <summary>The group node.</summary>
    public string Path { get; }

    /// <summary>The node of group <paramref name="number"/>: <c>/dev/vfio/N</c>.</summary>
    public static string PathFor(int number) => $"/dev/vfio/{number.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Opens group <paramref name="number"/>.</summary>
    /// <exception cref="MemphysException">ENOENT when no device of the group is bound to a VFIO driver; EBUSY when another process has it open.</exception>
    public static VfioGroup Open(int number)
    {
        Platform.ThrowIfUnsupported();
        ArgumentOutOfRangeException.ThrowIfNegative(number);
        string path = PathFor(number);
        return new VfioGroup(number, path, FileDescriptor.Open(path, Interop.Libc.O_RDWR));
    }

    /// <summary>The group's status (<c>VFIO_GROUP_GET_STATUS</c>).</summary>
    public VfioGroupFlags GetStatus()
    {
        var status = new VfioGroupStatusNative { ArgSz = (uint)sizeof(VfioGroupStatusNative) };
        Interop.Errors.ThrowIfNegative(Interop.Libc.Ioctl(_fd, VfioUapi.GroupGetStatus, &status), "ioctl VFIO_GROUP_GET_STATUS", Path);
        return (VfioGroupFlags)status.Flags;
    }

    /// <summary>Attaches the group to <paramref name="container"/> (<c>VFIO_GROUP_SET_CONTAINER</c>).</summary>
    /// <exception cref="MemphysException">EPERM when the group is not viable; EINVAL when it is attached already.</exception>
    public void SetContainer(VfioContainer container)
    {
        ArgumentNullException.ThrowIfNull(container);
        bool added = false;
        container.Handle.DangerousAddRef(ref added);
        try
        {
            int fd = (int)container.Handle.DangerousGetHandle();
            Interop.Errors.ThrowIfNegative(Interop.Libc.Ioctl(_fd, VfioUapi.GroupSetContainer, &fd),
                $"ioctl VFIO_GROUP_SET_CONTAINER {container.Path}", Path);
        }
        finally
        {
            container.Handle.DangerousRelease();
        }
    }

    /// <summary>Detaches the group from its container (<c>VFIO_GROUP_UNSET_CONTAINER</c>); its devices must be closed.</summary>
    public void UnsetContainer() =>
        Interop.Errors.ThrowIfNegative(Interop.Libc.IoctlValue(_fd, VfioUapi.GroupUnsetContainer, 0), "ioctl VFIO_GROUP_UNSET_CONTAINER", Path);

    /// <summary>Opens device <paramref name="name"/> of the group (for PCI, its address, e.g. <c>0000:00:04.0</c>).</summary>
    /// <exception cref="MemphysException">EINVAL before the container has an IOMMU model; ENODEV for a device not in the group.</exception>
    public VfioDevice OpenDevice(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        int fd = Interop.Libc.IoctlString(_fd, VfioUapi.GroupGetDeviceFd, name);
        if (fd < 0)
        {
            throw Interop.Errors.LastError($"ioctl VFIO_GROUP_GET_DEVICE_FD {name}", Path);
        }

        return new VfioDevice(name, new SafeFileHandle(fd, ownsHandle: true));
    }

    /// <summary>Closes the group; it leaves its container once its devices are closed too.</summary>
    public void Dispose() => _fd.Dispose();
}
