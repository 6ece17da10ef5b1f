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
            "Map the range by each method and check contents across methods and processes, fault counts, and for every page " +
            "whether it is present and which frame it maps (PFN == region base PFN + offset/page size + page index). " +
            "Device mappings are VM_PFNMAP, which mincore(2) and /proc/self/pagemap skip (they report such pages as absent), " +
            "so presence and PFNs come from the driver's MEMPHYS_IOC_QUERY_PAGE: the page table entry the MMU uses. " +
            "Default 16 MiB; --length 1G checks a whole 1 GiB region (about 50 s in the TCG test guest). " +
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
        PageTable(Add(checks, "remap: every page present right after mmap, PFN == base + index"), remapDev, remap, info, _ => true,
            expectWritable: true);

        output.WithProgress("writing pattern (remap)", length, p => { FillPattern(remap, offset, seedA, p); return 0; });
        d = remapDev.GetStats().Since(s0);
        Add(checks, "remap: still zero faults after writing").Expect(d.TotalFaults == 0,
            $"faults: expected 0, found pte {d.PteFaults} pmd {d.PmdFaults} pud {d.PudFaults}");

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
        PageTable(Add(checks, "fault: no page present right after mmap"), faultDev, fault, info, _ => false);

        // Touch every other page: exactly those become present (one fault each), the others stay absent.
        s0 = faultDev.GetStats();
        long odd = output.WithProgress("touching every other page (fault)", length, p => TouchOddPages(fault, p));
        d = faultDev.GetStats().Since(s0);
        c = Add(checks, "fault: touching every other page faults once each, only those present");
        c.Expect(d.PteFaults == (ulong)odd, $"pte_faults: expected {odd}, found {d.PteFaults}");
        PageTable(c, faultDev, fault, info, i => (i & 1) == 1);
        c.Detail = $"pte {d.PteFaults} for {odd} touched pages; {c.Detail}";

        ComparePattern(output, Add(checks, "fault: reads the pattern written through remap"), fault, offset, seedA);
        d = faultDev.GetStats().Since(s0);
        c = Add(checks, "fault: exactly one pte fault per page after reading all");
        c.Detail = $"pte {d.PteFaults}, pmd {d.PmdFaults}, pud {d.PudFaults}, fallback {d.FallbackFaults}";
        c.Expect(d.PteFaults == (ulong)pages, $"pte_faults: expected {pages}, found {d.PteFaults}");
        c.Expect(d.PmdFaults == 0 && d.PudFaults == 0, $"huge faults: expected 0, found pmd {d.PmdFaults} pud {d.PudFaults}");
        PageTable(Add(checks, "fault: every page present after touching, PFN == base + index"), faultDev, fault, info, _ => true);

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
        var before = new Check("before touching");
        PageTable(before, dev, map, info, _ => false);
        foreach (string f in before.Failures)
        {
            c.Fail($"before touching: {f}");
        }

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
        string faults = c.Detail;
        PageTable(c, dev, map, info, _ => true);
        c.Detail = $"{faults}; {c.Detail}";
    }

    /// <summary>Reads one byte of every odd-numbered page; returns how many pages were touched.</summary>
    private static unsafe long TouchOddPages(MemphysMapping map, Action<double> progress)
    {
        long page = Environment.SystemPageSize;
        long touched = 0;
        for (long i = 1; i < map.PageCount; i += 2, touched++)
        {
            _ = Volatile.Read(ref map.Pointer[i * page]);
            if ((i & 0xffff) == 1)
            {
                progress(i * page);
            }
        }

        return touched;
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

    /// <summary>
    /// Checks every page of a device mapping through the driver's page-table query (MEMPHYS_IOC_QUERY_PAGE):
    /// pages for which <paramref name="expectPresent"/> is true must be present and map PFN
    /// region base PFN + mapping offset / page size + page index; the others must be absent.
    /// mincore(2) and /proc/self/pagemap skip VM_PFNMAP mappings (every device mapping), so they are only
    /// cross-checked for a mapping that is not VM_PFNMAP.
    /// </summary>
    internal static void PageTable(Check c, MemphysDevice dev, MemphysMapping map, MemphysInfo info, Func<long, bool> expectPresent,
        bool expectWritable = false)
    {
        PageTableEntry[] entries = dev.QueryPages(map);
        ulong basePfn = (info.PhysicalBase + (ulong)map.RegionOffset) / info.PageSize;
        long present = 0, writable = 0;
        for (long i = 0; i < entries.Length; i++)
        {
            PageTableEntry e = entries[i];
            ulong pfn = basePfn + (ulong)i;
            present += e.Present ? 1 : 0;
            writable += e.Writable ? 1 : 0;
            string where = $"page {i} (region offset 0x{map.RegionOffset + (i * info.PageSize):x})";
            if (!expectPresent(i))
            {
                c.Expect(!e.Present, $"{where}: expected not present, found present with PFN 0x{e.Pfn:x}");
            }
            else if (!e.Present)
            {
                c.Fail($"{where}: expected present with PFN 0x{pfn:x}, found not present");
            }
            else if (e.Pfn != pfn)
            {
                c.Fail($"{where}: expected PFN 0x{pfn:x}, found PFN 0x{e.Pfn:x}");
            }
            else if (expectWritable && !e.Writable)
            {
                c.Fail($"{where}: expected a writable entry (shared read-write mapping), found read-only");
            }
        }

        c.Detail = $"{present} of {entries.Length} present, {writable} writable (driver page-table query)";
        if (!map.IsPfnMap)
        {
            CrossCheckPagemap(c, map, entries);
        }
    }

    /// <summary>For a mapping the kernel's page walks can see: mincore and pagemap must agree with the driver.</summary>
    private static void CrossCheckPagemap(Check c, MemphysMapping map, PageTableEntry[] entries)
    {
        bool[] resident = map.GetResidency();
        PagemapEntry[] pagemap = map.ReadPagemap();
        bool pfns = PageInspector.IsRoot;
        for (long i = 0; i < entries.Length; i++)
        {
            c.Expect(resident[i] == entries[i].Present, $"page {i}: mincore says {(resident[i] ? "resident" : "not resident")}, driver says {(entries[i].Present ? "present" : "absent")}");
            c.Expect(pagemap[i].Present == entries[i].Present && (!pfns || !entries[i].Present || pagemap[i].Pfn == entries[i].Pfn),
                $"page {i}: pagemap present={pagemap[i].Present} PFN 0x{pagemap[i].Pfn:x}, driver present={entries[i].Present} PFN 0x{entries[i].Pfn:x}");
        }

        c.Detail += "; mincore and pagemap agree";
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
