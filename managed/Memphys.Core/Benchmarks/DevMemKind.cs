using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>/dev/mem over the memphys range (only while no driver has claimed it).</summary>
internal sealed class DevMemKind(string name) : FileKind(name, "devmem", FaultSize.Pte)
{
    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        ulong? physical = settings.DevMemBase;
        if (physical is null && File.Exists(settings.DevicePath))
        {
            using MemphysDevice dev = MemphysDevice.Open(settings.DevicePath, readOnly: true);
            physical = dev.GetInfo().PhysicalBase + (ulong)settings.Offset;
        }

        if (physical is null)
        {
            return "no physical address: give --devmem-base (the memphys device is not there to tell)";
        }

        FileOffset = (long)physical.Value;
        try
        {
            Open("/dev/mem");
            using MemphysMapping probe = Map(Environment.SystemPageSize);
            return null;
        }
        catch (MemphysAccessException ex) when (ex is IMemphysError { Errno: Interop.Errors.EPERM })
        {
            return $"{ex.Message}: the range is claimed by a driver (memphys loaded?) or STRICT_DEVMEM forbids it";
        }
    }
}
