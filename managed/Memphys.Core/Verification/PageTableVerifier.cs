namespace Memphys.Verification;

/// <summary>
/// The walk over a device mapping's page table entries, read back with the driver's
/// <c>MEMPHYS_IOC_QUERY_PAGE</c> (<see cref="MemphysDevice.QueryPages"/>), against a <see cref="PageExpectation"/>.
/// </summary>
/// <remarks>Stateless: may be called from any thread; a check it records into belongs to the calling thread.</remarks>
public static class PageTableVerifier
{
    /// <summary>Checks every page of <paramref name="map"/> against <paramref name="expected"/>.</summary>
    public static Check Verify(MemphysDevice device, MemphysMapping map, PageExpectation expected, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(expected);
        var check = new Check(name ?? expected.Description);
        VerifyInto(check, device, map, expected);
        return check;
    }

    /// <summary>
    /// Adds the failures of <paramref name="map"/>'s page table entries against <paramref name="expected"/> to
    /// <paramref name="check"/>, and a detail line with the counts. mincore(2) and /proc/self/pagemap skip
    /// VM_PFNMAP mappings (every device mapping), so they are cross-checked only for a mapping that is not one.
    /// </summary>
    public static void VerifyInto(Check check, MemphysDevice device, MemphysMapping map, PageExpectation expected)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(expected);
        MemphysInfo info = device.GetInfo();
        PageTableEntry[] entries = device.QueryPages(map);
        ulong basePfn = (info.PhysicalBase + (ulong)map.RegionOffset) / (ulong)info.PageSize;
        long present = 0, writable = 0;
        var types = new SortedDictionary<string, long>(StringComparer.Ordinal);
        for (long i = 0; i < entries.Length; i++)
        {
            PageTableEntry e = entries[i];
            present += e.Present ? 1 : 0;
            writable += e.Writable ? 1 : 0;
            if (e.Present)
            {
                string type = $"{e.MemoryType.Short()} {EntrySizeName(e.EntrySize)}";
                types[type] = types.GetValueOrDefault(type) + 1;
            }

            if ((EntryFailure(e, expected.Present(i), basePfn + (ulong)i, expected) ??
                 MemoryTypeFailure(e, info.Caching)) is { } failure)
            {
                check.Fail($"page {i} (region offset 0x{map.RegionOffset + (i * info.PageSize):x}): {failure}");
            }
        }

        check.MemoryTypes = types.Count == 1 ? types.Keys.First() : string.Join(", ", types.Select(t => $"{t.Key} x{t.Value:N0}"));

        check.AddDetail($"{present:N0} of {entries.Length:N0} present, {writable:N0} writable (driver page-table query)");
        if (!map.IsPfnMap)
        {
            CrossCheckKernelWalks(check, map, entries);
        }
    }

    /// <summary>Counts of <paramref name="map"/>'s page table entries, for reports: present, writable, at another PFN than base + index.</summary>
    public static PageTableSummary Summarize(MemphysDevice device, MemphysMapping map)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(map);
        MemphysInfo info = device.GetInfo();
        PageTableEntry[] entries = device.QueryPages(map);
        ulong basePfn = (info.PhysicalBase + (ulong)map.RegionOffset) / (ulong)info.PageSize;
        long present = entries.LongCount(e => e.Present);
        long writable = entries.LongCount(e => e.Present && e.Writable);
        long wrong = entries.Select((e, i) => e.Present && e.Pfn != basePfn + (ulong)i).LongCount(w => w);
        return new PageTableSummary(entries.LongLength, present, writable, wrong);
    }

    /// <summary>
    /// Why a present entry does not have the region's memory type (each region has one, held by the driver for
    /// every mapping of it), or null.
    /// </summary>
    private static string? MemoryTypeFailure(PageTableEntry e, CachingMode region) =>
        !e.Present || e.MemoryType.Honours(region) ? null
            : $"expected the region's {region.ParameterName()} memory type, found {e.MemoryType.Short()}";

    /// <summary>4K, 2M or 1G: the size of a page table entry, as reports show it.</summary>
    private static string EntrySizeName(long bytes) => bytes switch
    {
        FaultSize.Pud => "1G",
        FaultSize.Pmd => "2M",
        FaultSize.Pte => "4K",
        _ => $"{bytes}B",
    };

    /// <summary>Why <paramref name="e"/> does not meet the expectation, or null when it does.</summary>
    private static string? EntryFailure(PageTableEntry e, bool present, ulong pfn, PageExpectation expected)
    {
        if (!present)
        {
            return e.Present ? $"expected not present, found present with PFN 0x{e.Pfn:x}" : null;
        }

        if (!e.Present)
        {
            return $"expected present with PFN 0x{pfn:x}, found not present";
        }

        if (e.Pfn != pfn)
        {
            return $"expected PFN 0x{pfn:x}, found PFN 0x{e.Pfn:x}";
        }

        if (expected.Writable && !e.Writable)
        {
            return "expected a writable entry, found read-only";
        }

        return expected.ReadOnly && e.Writable ? "expected a read-only entry, found writable" : null;
    }

    /// <summary>
    /// For a mapping the kernel's page walks can see: mincore(2) residency and <c>/proc/self/pagemap</c> presence
    /// (and PFNs, when readable) must agree with <paramref name="entries"/>. The detail says whether they did.
    /// </summary>
    public static void CrossCheckKernelWalks(Check check, MemphysMapping map, IReadOnlyList<PageTableEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(check);
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(entries);
        bool[] resident = map.GetResidency();
        PagemapEntry[] pagemap = map.ReadPagemap();
        bool pfns = PageInspector.IsRoot;
        long before = check.FailureCount;
        for (int i = 0; i < entries.Count; i++)
        {
            PageTableEntry e = entries[i];
            if (resident[i] != e.Present)
            {
                check.Fail($"page {i}: mincore says {(resident[i] ? "resident" : "not resident")}, the page table says {(e.Present ? "present" : "not present")}");
            }

            if (pagemap[i].Present != e.Present || (pfns && e.Present && pagemap[i].Pfn != e.Pfn))
            {
                check.Fail($"page {i}: pagemap present={pagemap[i].Present} PFN 0x{pagemap[i].Pfn:x}, the page table present={e.Present} PFN 0x{e.Pfn:x}");
            }
        }

        long disagreements = check.FailureCount - before;
        check.AddDetail(disagreements == 0
            ? "mincore and pagemap agree"
            : $"mincore and pagemap disagree on {disagreements} page(s)");
    }
}
