namespace Memphys.Verification;

/// <summary>
/// The checks of <c>memphys verify</c>, as a library: maps a range by each method and checks fault counts, every
/// page table entry (present or not, PFN = base + index), the contents across methods and processes, and huge
/// faults where the kernel installs them. The CLI prints the report; the device tests assert it.
/// </summary>
/// <remarks>
/// Thread safety: <see cref="Run(string, VerifyOptions, IProgress{VerifyProgress}?, CancellationToken)"/> may be called
/// from any thread; each run opens devices of its own. Two runs on the same region at once disturb each other's
/// counters: run one at a time per region.
/// </remarks>
public sealed class RegionVerifier
{
    private readonly string _path;
    private readonly VerifyOptions _options;
    private readonly MemphysInfo _info;
    private readonly List<Check> _checks = [];
    private readonly IProgress<VerifyProgress>? _progress;
    private readonly CancellationToken _cancellationToken;

    private RegionVerifier(string path, VerifyOptions options, MemphysInfo info, IProgress<VerifyProgress>? progress,
        CancellationToken cancellationToken)
    {
        _path = path;
        _options = options;
        _info = info;
        _progress = progress;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Runs every check on [Offset, +Length) of the region of <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not whole pages inside the region.</exception>
    /// <exception cref="MemphysException">A system call failed (not a check: a check failing is in the report).</exception>
    public static VerificationReport Run(string path, VerifyOptions options) => Run(path, options, null, CancellationToken.None);

    /// <summary>
    /// Runs every check on [Offset, +Length) of the region of <paramref name="path"/>, reporting each phase to
    /// <paramref name="progress"/>. Cancelling stops within one 16 MiB step; every mapping made is unmapped before
    /// the <see cref="OperationCanceledException"/> leaves.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not whole pages inside the region.</exception>
    /// <exception cref="MemphysException">A system call failed (not a check: a check failing is in the report).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static VerificationReport Run(string path, VerifyOptions options, IProgress<VerifyProgress>? progress,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(options);
        cancellationToken.ThrowIfCancellationRequested();
        using MemphysDevice remapDevice = MemphysDevice.Open(path);
        MemphysInfo info = remapDevice.GetInfo();
        CheckRange(info, options.Offset, options.Length);
        var verifier = new RegionVerifier(path, options, info, progress, cancellationToken);
        verifier.RunAll(remapDevice);
        return new VerificationReport(path, info, options, verifier._checks);
    }

    /// <summary>Throws unless [<paramref name="offset"/>, +<paramref name="length"/>) is whole pages inside the region.</summary>
    public static void CheckRange(MemphysInfo info, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (offset % info.PageSize != 0 || length % info.PageSize != 0 || offset > info.RegionSize ||
            length > info.RegionSize - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(length),
                $"0x{offset:x}+0x{length:x} is not whole {info.PageSize}-byte pages inside the {MemphysDevice.FormatSize(info.RegionSize)} region");
        }
    }

    private Check Add(string name)
    {
        _cancellationToken.ThrowIfCancellationRequested();
        var check = new Check(name);
        _checks.Add(check);
        return check;
    }

    private SynchronousProgress<double> Phase(string phase) => new(fraction =>
    {
        _cancellationToken.ThrowIfCancellationRequested();
        _progress?.Report(new VerifyProgress(phase, fraction));
    });

    private void RunAll(MemphysDevice remapDevice)
    {
        long pages = _options.Length / _info.PageSize;
        ulong seedA = _options.Seed;
        ulong seedB = Pattern.Mix(_options.Seed, 0xB);

        remapDevice.SetMethod(MappingMethod.Remap);
        using MemphysMapping remap = MapCounted(remapDevice, "remap: mmap counted, bytes_remapped == length, zero faults",
            (ulong)_options.Length, out MemphysStats remapStart);
        Pages(remapDevice, remap, PageExpectation.AllPresent with { Writable = true }, "remap: every page present right after mmap, PFN == base + index");
        PatternVerifier.Fill(remap, seedA, Phase("writing the pattern (remap)"));
        NoFaultsSince(remapDevice, remapStart, "remap: still zero faults after writing");

        using MemphysDevice faultDevice = MemphysDevice.Open(_path);
        faultDevice.SetMethod(MappingMethod.Fault);
        if (_info.FaultSizes != FaultSizes.None)
        {
            faultDevice.SetMaxFaultSize(FaultSize.Pte);
        }

        if (_options.FaultAround != 0)
        {
            faultDevice.SetFaultAround(_options.FaultAround);
        }

        using MemphysMapping fault = MapCounted(faultDevice, "fault: mmap counted, nothing remapped, no faults in mmap", 0, out _);
        Pages(faultDevice, fault, PageExpectation.NonePresent, "fault: no page present right after mmap");

        // Every other page first: those become present with one fault each, and with fault-around the rest of
        // their windows, as the model of the driver predicts.
        uint around = Math.Max(1u, faultDevice.GetInfo().FaultAround);
        var model = new FaultAroundModel((ulong)fault.BaseAddress, pages, around, _info.PageSize);
        MemphysStats start = faultDevice.GetStats();
        fault.TouchPages(_info.PageSize, fault.Length - _info.PageSize, stride: 2);
        model.Touch(1, stride: 2);
        MemphysStats d = faultDevice.GetStats().Since(start);
        Check c = Add($"fault: touching every other page maps those and their fault-around windows ({around} pages)");
        ExpectFaults(c, d, model);
        PageTableVerifier.VerifyInto(c, faultDevice, fault, PageExpectation.PresentWhere(model.IsPresent, "odd pages and their windows present"));

        PatternVerifier.Compare(Add("fault: reads the pattern written through remap"), fault, seedA, Phase("comparing (fault)"));
        model.Touch(0);
        d = faultDevice.GetStats().Since(start);
        c = Add("fault: every page mapped exactly once after reading all (pte faults + prefaulted == pages)");
        c.AddDetail($"pte {d.PteFaults}, prefaulted {d.Prefaulted}, pmd {d.PmdFaults}, pud {d.PudFaults}, fallback {d.FallbackFaults}");
        ExpectFaults(c, d, model);
        c.Expect(d.PteFaults + d.Prefaulted == (ulong)pages, $"pte faults + prefaulted: expected {pages}, found {d.PteFaults + d.Prefaulted}");
        c.Expect(d.PmdFaults == 0 && d.PudFaults == 0, $"huge faults: expected 0, found pmd {d.PmdFaults} pud {d.PudFaults}");
        Pages(faultDevice, fault, PageExpectation.AllPresent, "fault: every page present after touching, PFN == base + index");

        PatternVerifier.Fill(fault, seedB, Phase("writing the pattern (fault)"));
        d = faultDevice.GetStats().Since(start);
        ExpectFaults(Add("fault: no further faults when writing touched pages"), d, model);
        PatternVerifier.Compare(Add("remap: reads the pattern written through fault"), remap, seedB, Phase("comparing (remap)"));

        foreach (MappingMethod method in _info.SupportedMethods)
        {
            SecondProcess(method, seedB);
        }

        HugeFaults(FaultSize.Pmd, FaultSizes.Pmd2M, "pmd", seedB);
        HugeFaults(FaultSize.Pud, FaultSizes.Pud1G, "pud", seedB);
    }

    private static void ExpectFaults(Check c, MemphysStats d, FaultAroundModel model)
    {
        c.Expect(d.PteFaults == model.Faults, $"pte_faults: expected {model.Faults}, found {d.PteFaults}");
        c.Expect(d.Prefaulted == model.Prefaulted, $"prefaulted: expected {model.Prefaulted}, found {d.Prefaulted}");
    }

    /// <summary>Maps the range and checks the counters of that mmap: one call, <paramref name="remapped"/> bytes, no faults.</summary>
    private MemphysMapping MapCounted(MemphysDevice device, string name, ulong remapped, out MemphysStats start)
    {
        start = device.GetStats();
        MemphysMapping map = device.Map(_options.Offset, _options.Length);
        MemphysStats d = device.GetStats().Since(start);
        Check c = Add(name);
        c.Expect(d.MmapCalls == 1, $"mmap_calls: expected 1, found {d.MmapCalls}");
        c.Expect(d.BytesRemapped == remapped, $"bytes_remapped: expected {remapped}, found {d.BytesRemapped}");
        c.Expect(d.TotalFaults == 0, $"faults: expected 0, found pte {d.PteFaults} pmd {d.PmdFaults} pud {d.PudFaults}");
        return map;
    }

    private void Pages(MemphysDevice device, MemphysMapping map, PageExpectation expected, string name) =>
        PageTableVerifier.VerifyInto(Add(name), device, map, expected);

    private void NoFaultsSince(MemphysDevice device, MemphysStats start, string name)
    {
        MemphysStats d = device.GetStats().Since(start);
        Add(name).Expect(d.TotalFaults == 0, $"faults: expected 0, found pte {d.PteFaults} pmd {d.PmdFaults} pud {d.PudFaults}");
    }

    private void SecondProcess(MappingMethod method, ulong seed)
    {
        string name = method.ToString().ToLowerInvariant();
        Check c = Add($"second process ({name}) reads the pattern");
        if (_options.SecondProcess is null)
        {
            c.Skip("no second-process runner");
            return;
        }

        _options.SecondProcess(new SecondProcessRequest(_path, method, _options.Offset, _options.Length, seed), c);
    }

    private void HugeFaults(long size, FaultSizes flag, string name, ulong seed)
    {
        Check c = Add($"fault: one {name} fault per {MemphysDevice.FormatSize(size)} block");
        if (!_info.FaultSizes.HasFlag(flag))
        {
            c.Skip($"kernel cannot install {MemphysDevice.FormatSize(size)} faults");
            return;
        }

        if (_options.Length < size)
        {
            c.Skip($"length below {MemphysDevice.FormatSize(size)}");
            return;
        }

        using MemphysDevice device = MemphysDevice.Open(_path);
        device.SetMethod(MappingMethod.Fault);
        device.SetMaxFaultSize(size);
        device.SetFaultAround(1); // the plan counts the 4 KiB faults of the edges one by one
        using MemphysMapping map = device.Map(_options.Offset, _options.Length, alignment: size);
        c.Include(PageTableVerifier.Verify(device, map, PageExpectation.NonePresent), "before touching: ");
        MemphysStats start = device.GetStats();
        map.TouchPages();
        HugeFaultPlan.For((ulong)map.BaseAddress, map.Length, _info.FaultSizes, size, _info.PageSize)
            .Verify(c, device.GetStats().Since(start));
        PatternVerifier.Compare(c, map, seed, Phase($"comparing ({MemphysDevice.FormatSize(size)} faults)"));
        PageTableVerifier.VerifyInto(c, device, map, PageExpectation.AllPresent);
    }
}
