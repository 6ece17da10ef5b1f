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
                // From 6.15 a pages mapping takes entries of its region's folio size only (folio= at load).
                return method == MappingMethod.Pages
                    ? $"the region's pages mappings take no {Size(PageSize)} entries (sizes: {string.Join(", ", sizes.Select(MemphysDevice.FormatSize))}; " +
                        $"load it with :pages:folio={FolioName(PageSize)} for them)"
                    : $"this kernel/CPU cannot install {Size(PageSize)} PFN faults (sizes: " + string.Join(", ", sizes.Select(MemphysDevice.FormatSize)) + ")";
            }

            _device.SetMaxFaultSize((long)PageSize);
        }

        configure?.Invoke(_device);
        return null;
    }

    private static string FolioName(ulong size) => (long)size switch
    {
        FaultSize.Pud => "1G",
        FaultSize.Pmd => "2M",
        _ => "4K",
    };

    /// <inheritdoc/>
    public override MemphysMapping Map(long length) =>
        _device!.Map(_offset, length, alignment: method == MappingMethod.Remap ? 0 : (long)PageSize);

    /// <inheritdoc/>
    public override MemphysStats? Counters() => _device?.GetStats();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => _device?.Dispose();
}
