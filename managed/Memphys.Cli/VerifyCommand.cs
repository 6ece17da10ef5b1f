using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>One check of <c>verify</c>: passed, failed (with up to N failure lines) or skipped.</summary>
internal sealed class Check(string name)
{
    private const int MaxFailures = 20;

    public string Name { get; } = name;
    public bool Skipped { get; private set; }
    public string Detail { get; set; } = "";
    public List<string> Failures { get; } = [];
    public long FailureCount { get; private set; }
    public bool Passed => FailureCount == 0;

    public void Fail(string failure)
    {
        FailureCount++;
        if (Failures.Count < MaxFailures)
        {
            Failures.Add(failure);
        }
    }

    public void Expect(bool condition, string failure)
    {
        if (!condition)
        {
            Fail(failure);
        }
    }

    public Check Skip(string reason)
    {
        Skipped = true;
        Detail = reason;
        return this;
    }

    public JsonObject ToJson() => new()
    {
        ["name"] = Name,
        ["passed"] = Passed,
        ["skipped"] = Skipped,
        ["detail"] = Detail,
        ["failureCount"] = FailureCount,
        ["failures"] = new JsonArray(Failures.Select(f => (JsonNode)f).ToArray()),
    };
}

internal static class VerifyCommand
{
    private const long DefaultLength = 16L << 20;

    public static Command Build()
    {
        var device = Program.DeviceOption();
        var json = Program.JsonOption();
        var offset = Program.OffsetOption();
        var length = Program.LengthOption("Bytes to check (default: 16 MiB or the region, whichever is smaller).");
        var seed = Program.SeedOption();
        var noChild = new Option<bool>("--no-child") { Description = "Skip the second-process check." };
        var command = new Command("verify",
            "Map the range by each method and check contents across methods and processes, PFNs (pagemap), residency and fault counts. " +
            "Exit code 0 only when every check passes, 1 otherwise.")
        {
            device, json, offset, length, seed, noChild,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device)!, r.GetValue(offset), r.GetValue(length),
            Program.ResolveSeed(r.GetValue(seed)), !r.GetValue(noChild))));
        return command;
    }

    private static int Run(Output output, string path, long offset, long length, ulong seed, bool child)
    {
        using MemphysDevice remapDev = MemphysDevice.Open(path);
        MemphysInfo info = remapDev.GetInfo();
        (offset, length) = Common.Range(info, offset, length, DefaultLength);
        long page = info.PageSize;
        long pages = length / page;
        ulong seedA = seed;
        ulong seedB = Pattern.Mix(seed, 0xB);
        var checks = new List<Check>();
        output.Line($"verify {path}: 0x{offset:x}+0x{length:x} ({pages} pages), seed {seed}");

        // 1. remap: fully resident after mmap, zero faults, bytes_remapped == length.
        remapDev.SetMethod(MappingMethod.Remap);
        MemphysStats s0 = remapDev.GetStats();
        using MemphysMapping remap = remapDev.Map(offset, length);
        MemphysStats d = remapDev.GetStats().Since(s0);
        var c = Add(checks, "remap: mmap counted, bytes_remapped == length, zero faults");
        c.Expect(d.MmapCalls == 1, $"mmap_calls: expected 1, found {d.MmapCalls}");
        c.Expect(d.BytesRemapped == (ulong)length, $"bytes_remapped: expected {length}, found {d.BytesRemapped}");
        c.Expect(d.TotalFaults == 0, $"faults: expected 0, found pte {d.PteFaults} pmd {d.PmdFaults} pud {d.PudFaults}");
        Residency(Add(checks, "remap: every page resident after mmap"), remap, expected: true);

        output.WithProgress("writing pattern (remap)", length, p => { FillPattern(remap, offset, seedA, p); return 0; });
        d = remapDev.GetStats().Since(s0);
        Add(checks, "remap: still zero faults after writing").Expect(d.TotalFaults == 0,
            $"faults: expected 0, found pte {d.PteFaults} pmd {d.PmdFaults} pud {d.PudFaults}");
        Pfns(Add(checks, "remap: pagemap PFN == region base + offset"), remap, info, offset);

        // 2. fault, PTE only: nothing resident after mmap; one pte fault per touched page.
        using MemphysDevice faultDev = MemphysDevice.Open(path);
        faultDev.SetMethod(MappingMethod.Fault);
        if (info.FaultSizes != FaultSizes.None)
        {
            faultDev.SetMaxFaultSize(FaultSize.Pte);
        }

        s0 = faultDev.GetStats();
        using MemphysMapping fault = faultDev.Map(offset, length);
        d = faultDev.GetStats().Since(s0);
        c = Add(checks, "fault: mmap counted, nothing remapped, no faults in mmap");
        c.Expect(d.MmapCalls == 1, $"mmap_calls: expected 1, found {d.MmapCalls}");
        c.Expect(d.BytesRemapped == 0, $"bytes_remapped: expected 0, found {d.BytesRemapped}");
        c.Expect(d.TotalFaults == 0, $"faults: expected 0, found {d.TotalFaults}");
        Residency(Add(checks, "fault: nothing resident after mmap"), fault, expected: false);

        ComparePattern(output, Add(checks, "fault: reads the pattern written through remap"), fault, offset, seedA);
        d = faultDev.GetStats().Since(s0);
        c = Add(checks, "fault: exactly one pte fault per touched page");
        c.Detail = $"pte {d.PteFaults}, pmd {d.PmdFaults}, pud {d.PudFaults}, fallback {d.FallbackFaults}";
        c.Expect(d.PteFaults == (ulong)pages, $"pte_faults: expected {pages}, found {d.PteFaults}");
        c.Expect(d.PmdFaults == 0 && d.PudFaults == 0, $"huge faults: expected 0, found pmd {d.PmdFaults} pud {d.PudFaults}");
        Residency(Add(checks, "fault: every page resident after touching"), fault, expected: true);
        Pfns(Add(checks, "fault: pagemap PFN == region base + offset"), fault, info, offset);

        output.WithProgress("writing pattern (fault)", length, p => { FillPattern(fault, offset, seedB, p); return 0; });
        d = faultDev.GetStats().Since(s0);
        Add(checks, "fault: no further faults when writing touched pages").Expect(d.PteFaults == (ulong)pages,
            $"pte_faults: expected {pages}, found {d.PteFaults}");
        ComparePattern(output, Add(checks, "remap: reads the pattern written through fault"), remap, offset, seedB);

        // 3. second process, both methods.
        foreach (MappingMethod method in new[] { MappingMethod.Remap, MappingMethod.Fault })
        {
            c = Add(checks, $"second process ({Common.Name(method)}) reads the pattern");
            if (!child)
            {
                c.Skip("--no-child");
                continue;
            }

            (int code, string stdout, string stderr) = Common.RunChild(
                ["read", "--device", path, "--method", Common.Name(method), "--offset", Common.Inv(offset), "--length", Common.Inv(length), "--seed", Common.Inv(seedB)]);
            c.Detail = stdout.Trim();
            c.Expect(code == 0, $"child exit code {code}: {(stderr.Trim().Length > 0 ? stderr.Trim() : stdout.Trim())}");
        }

        // 4. huge faults where the kernel can install them.
        foreach ((ulong size, FaultSizes flag, string name) in new[] { (FaultSize.Pmd, FaultSizes.Pmd2M, "pmd"), (FaultSize.Pud, FaultSizes.Pud1G, "pud") })
        {
            c = Add(checks, $"fault: one {name} fault per {Output.Size(size)} block");
            if (!info.FaultSizes.HasFlag(flag))
            {
                c.Skip($"kernel cannot install {Output.Size(size)} faults");
                continue;
            }

            if ((ulong)length < size)
            {
                c.Skip($"--length below {Output.Size(size)}");
                continue;
            }

            HugeFaults(output, c, path, info, offset, length, size, seedB);
        }

        bool passed = checks.All(x => x.Passed);
        Report(output, path, offset, length, seed, checks, passed);
        return passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }

    private static void HugeFaults(Output output, Check c, string path, MemphysInfo info, long offset, long length, ulong size, ulong seed)
    {
        using MemphysDevice dev = MemphysDevice.Open(path);
        dev.SetMethod(MappingMethod.Fault);
        dev.SetMaxFaultSize(size);
        using MemphysMapping map = dev.Map(offset, length, alignment: size);
        MemphysStats s0 = dev.GetStats();
        output.WithProgress($"touching ({Output.Size(size)} faults)", length, p =>
        {
            foreach ((long o, int l) in MemphysMapping.Chunks(length, 16 << 20))
            {
                MapCommand.TouchRange(map, o, l, write: false);
                p(o + l);
            }

            return 0;
        });
        MemphysStats d = dev.GetStats().Since(s0);

        // Expected: every block of each enabled size that is aligned in virtual space and lies fully inside the
        // mapping gets one huge fault (VA is congruent to PA modulo size, so PA is aligned too); the rest PTEs.
        ulong va = (ulong)map.BaseAddress;
        ulong end = va + (ulong)length;
        ulong pud = 0, pmd = 0;
        ulong covered = 0;
        var sizes = new List<ulong>();
        if (size >= FaultSize.Pud && info.FaultSizes.HasFlag(FaultSizes.Pud1G))
        {
            sizes.Add(FaultSize.Pud);
        }

        if (info.FaultSizes.HasFlag(FaultSizes.Pmd2M))
        {
            sizes.Add(FaultSize.Pmd);
        }

        var taken = new List<(ulong Start, ulong End)>();
        foreach (ulong s in sizes)
        {
            for (ulong b = (va + s - 1) / s * s; b + s <= end; b += s)
            {
                if (taken.Any(t => b >= t.Start && b < t.End))
                {
                    continue;
                }

                taken.Add((b, b + s));
                covered += s;
                if (s == FaultSize.Pud)
                {
                    pud++;
                }
                else
                {
                    pmd++;
                }
            }
        }

        ulong pte = ((ulong)length - covered) / info.PageSize;
        c.Detail = $"expected pte {pte} pmd {pmd} pud {pud}; found pte {d.PteFaults} pmd {d.PmdFaults} pud {d.PudFaults} fallback {d.FallbackFaults}";
        c.Expect(d.PudFaults == pud, $"pud_faults: expected {pud}, found {d.PudFaults}");
        c.Expect(d.PmdFaults == pmd, $"pmd_faults: expected {pmd}, found {d.PmdFaults}");
        c.Expect(d.PteFaults == pte, $"pte_faults: expected {pte}, found {d.PteFaults}");
        CompareInto(c, map, offset, seed);
        if (!map.IsPfnMap)
        {
            PfnsInto(c, map, info, offset);
        }
    }

    private static Check Add(List<Check> checks, string name)
    {
        var c = new Check(name);
        checks.Add(c);
        return c;
    }

    internal static void FillPattern(MemphysMapping map, long regionOffset, ulong seed, Action<double> progress)
    {
        foreach ((long o, int l) in MemphysMapping.Chunks(map.Length, 4 << 20))
        {
            Pattern.Fill(map.GetSpan(o, l), regionOffset + o, seed);
            progress(o + l);
        }
    }

    private static void ComparePattern(Output output, Check c, MemphysMapping map, long regionOffset, ulong seed) =>
        output.WithProgress(c.Name, map.Length, p => { CompareInto(c, map, regionOffset, seed, p); return 0; });

    /// <summary>Compares page by page, one failure line per bad page: page, first bad offset, expected vs found.</summary>
    internal static long CompareInto(Check c, MemphysMapping map, long regionOffset, ulong seed, Action<double>? progress = null)
    {
        int page = Environment.SystemPageSize;
        long bad = 0;
        for (long o = 0; o < map.Length; o += page)
        {
            Span<byte> span = map.GetSpan(o, (int)Math.Min(page, map.Length - o));
            long n = Pattern.Check(span, regionOffset + o, seed, out long firstBad);
            if (n != 0)
            {
                bad += n;
                byte found = span[(int)(firstBad - regionOffset - o)];
                c.Fail($"page {o / page} (region offset 0x{firstBad:x}): {n} bad bytes, first expected 0x{Pattern.ExpectedByte(firstBad, seed):x2} found 0x{found:x2}");
            }

            if (progress is not null && (o & ((16 << 20) - 1)) == 0)
            {
                progress(o);
            }
        }

        return bad;
    }

    private const string PfnMapReason = "VM_PFNMAP mapping: the kernel's page walks (mincore, pagemap) skip PFN maps, so this is not observable from user space";

    private static void Residency(Check c, MemphysMapping map, bool expected)
    {
        if (map.IsPfnMap)
        {
            c.Skip(PfnMapReason);
            return;
        }

        bool[] resident = map.GetResidency();
        long matching = resident.LongCount(r => r == expected);
        c.Detail = $"{resident.LongCount(r => r)} of {resident.Length} pages resident";
        for (long i = 0; i < resident.Length; i++)
        {
            if (resident[i] != expected)
            {
                c.Fail($"page {i}: expected {(expected ? "resident" : "not resident")}, found {(resident[i] ? "resident" : "not resident")}");
            }
        }

        _ = matching;
    }

    private static void Pfns(Check c, MemphysMapping map, MemphysInfo info, long offset)
    {
        if (map.IsPfnMap)
        {
            c.Skip(PfnMapReason);
            return;
        }

        if (!PfnsInto(c, map, info, offset))
        {
            c.Skip("pagemap PFNs read as zero (needs CAP_SYS_ADMIN)");
        }
    }

    /// <summary>Checks pagemap PFNs; returns false when PFNs are hidden (all zero).</summary>
    private static bool PfnsInto(Check c, MemphysMapping map, MemphysInfo info, long offset)
    {
        PagemapEntry[] entries = map.ReadPagemap();
        if (entries.All(e => e.Pfn == 0) && !PageInspector.IsRoot)
        {
            return false;
        }

        ulong basePfn = (info.PhysicalBase + (ulong)offset) / info.PageSize;
        for (long i = 0; i < entries.Length; i++)
        {
            PagemapEntry e = entries[i];
            ulong expected = basePfn + (ulong)i;
            if (!e.Present)
            {
                c.Fail($"page {i}: expected present with PFN 0x{expected:x}, found not present (raw 0x{e.Raw:x16})");
            }
            else if (e.Pfn != expected)
            {
                c.Fail($"page {i}: expected PFN 0x{expected:x}, found 0x{e.Pfn:x}");
            }
        }

        return true;
    }

    private static void Report(Output output, string path, long offset, long length, ulong seed, List<Check> checks, bool passed)
    {
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = path,
                ["offset"] = offset,
                ["length"] = length,
                ["seed"] = seed,
                ["passed"] = passed,
                ["checks"] = new JsonArray(checks.Select(x => (JsonNode)x.ToJson()).ToArray()),
            });
            return;
        }

        output.Table("verify", ["check", "result", "detail"],
            checks.Select(x => new[] { x.Name, x.Skipped ? "skip" : x.Passed ? "ok" : $"FAIL ({x.FailureCount})", x.Detail }));
        foreach (Check x in checks.Where(x => !x.Passed))
        {
            foreach (string f in x.Failures)
            {
                Console.Out.WriteLine($"FAIL {x.Name}: {f}");
            }

            if (x.FailureCount > x.Failures.Count)
            {
                Console.Out.WriteLine($"FAIL {x.Name}: ... {x.FailureCount - x.Failures.Count} more");
            }
        }

        int failed = checks.Count(x => !x.Passed);
        int skipped = checks.Count(x => x.Skipped);
        Console.Out.WriteLine($"{checks.Count - failed - skipped} passed, {failed} failed, {skipped} skipped");
    }
}
