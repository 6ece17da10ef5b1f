namespace Memphys.Vfio;

/// <summary>The flags of <c>VFIO_GROUP_GET_STATUS</c>.</summary>
[Flags]
internal enum VfioGroupFlags : uint
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Every device of the group is bound to a VFIO driver (or to none): the group may be used.</summary>
    Viable = 1u << 0,

    /// <summary>The group is attached to a container.</summary>
    ContainerSet = 1u << 1,
}
