namespace Memphys.Benchmarks;

/// <summary>memphys with one method (and for the fault method, one largest fault size); <paramref name="configure"/> applies further per-file settings.</summary>
internal sealed class MemphysKind(string name, MappingMethod method, ulong maxFault, Action<MemphysDevice>? configure = null)
    : BenchKind(name, "memphys", maxFault)
{
    private MemphysDevice? _device;
    private long _offset;

    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        _device = MemphysDevice.Open(settings.DevicePath);
        _offset = settings.Offset;
        MemphysInfo info = _device.GetInfo();
        if (!info.SupportedMethods.Contains(method))
        {
            return $"the driver does not offer the {method.ToString().ToLowerInvariant()} method";
        }

        if (method == MappingMethod.Pages && info.PagesErrno != 0)
        {
            return MemphysDevice.PagesUnavailableReason(info.PagesErrno);
        }

        _device.SetMethod(method);
        if (method != MappingMethod.Remap && info.FaultSizes != FaultSizes.None)
        {
            IReadOnlyList<long> sizes = method == MappingMethod.Pages ? _device.PagesEntrySizes() : FaultSize.ToBytes(info.FaultSizes);
            if (!sizes.Contains((long)PageSize))
            {
                return $"this kernel/CPU cannot install {Size(PageSize)} {(method == MappingMethod.Pages ? "page" : "PFN")} faults " +
                    "(sizes: " + string.Join(", ", sizes.Select(MemphysDevice.FormatSize)) + ")";
            }

            _device.SetMaxFaultSize((long)PageSize);
        }

        configure?.Invoke(_device);
        return null;
    }

    /// <inheritdoc/>
    public override MemphysMapping Map(long length) =>
        _device!.Map(_offset, length, alignment: method == MappingMethod.Remap ? 0 : (long)PageSize);

    /// <inheritdoc/>
    public override MemphysStats? Counters() => _device?.GetStats();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => _device?.Dispose();
}
