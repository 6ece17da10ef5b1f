using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

internal static class MapCommand
{
    public static Command Build()
    {
        var device = Program.DeviceOption();
        var json = Program.JsonOption();
        var method = new Option<string>("--method", "-m") { Description = "remap or fault.", Required = true };
        method.AcceptOnlyFromAmong("remap", "fault");
        var offset = Program.OffsetOption();
        var length = Program.LengthOption("Bytes to map (default: to the end of the region).");
        var isPrivate = new Option<bool>("--private") { Description = "MAP_PRIVATE (copy-on-write; the fault method refuses it)." };
        var touch = new Option<bool>("--touch") { Description = "Touch (read) every page after mapping." };
        var write = new Option<bool>("--write") { Description = "With --touch: write every page instead of reading it." };
        var maxFault = new Option<long>("--max-fault")
        {
            Description = "Largest fault size for the fault method (4K, 2M, 1G); default: the driver's.",
            CustomParser = r => Program.ParseSize(r),
        };
        var command = new Command("map",
            "Map a range, optionally touch every page, and report time, driver faults and present pages. " +
            "Present pages and their PFNs come from the driver's page-table query (MEMPHYS_IOC_QUERY_PAGE): device mappings are " +
            "VM_PFNMAP, which mincore(2) and /proc/self/pagemap skip, so those would report every page as absent.")
        {
            device, json, method, offset, length, isPrivate, touch, write, maxFault,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device)!, Common.ParseMethod(r.GetValue(method)!),
            r.GetValue(offset), r.GetValue(length), r.GetValue(isPrivate), r.GetValue(touch), r.GetValue(write), r.GetValue(maxFault))));
        return command;
    }

    private static int Run(Output output, string path, MappingMethod method, long offset, long length, bool isPrivate, bool touch, bool write, long maxFault)
    {
        using MemphysDevice dev = MemphysDevice.Open(path);
        MemphysInfo info = dev.GetInfo();
        (offset, length) = Common.Range(info, offset, length, long.MaxValue);
        dev.SetMethod(method);
        if (maxFault != 0)
        {
            dev.SetMaxFaultSize((ulong)maxFault);
        }

        ulong alignment = method == MappingMethod.Fault ? Math.Max(dev.GetInfo().MaxFaultSize, info.PageSize) : 0;
        MemphysStats before = dev.GetStats();
        var clock = Stopwatch.StartNew();
        using MemphysMapping map = dev.Map(offset, length, MapProtection.ReadWrite, isPrivate, alignment);
        TimeSpan mmapTime = clock.Elapsed;
        MemphysStats afterMap = dev.GetStats();
        bool pfnMap = map.IsPfnMap; // mincore and pagemap cannot see VM_PFNMAP pages: ask the driver instead
        ulong basePfn = info.BasePfn + (ulong)offset / info.PageSize;
        (long presentAfterMap, long badPfnsAfterMap) = Present(dev, map, basePfn);

        TimeSpan touchTime = TimeSpan.Zero;
        long touched = 0;
        if (touch)
        {
            clock.Restart();
            touched = output.WithProgress($"touching {map.PageCount} pages", map.Length, progress =>
            {
                long pages = 0;
                foreach ((long chunkOffset, int chunkLength) in MemphysMapping.Chunks(map.Length, 64 << 20))
                {
                    pages += TouchRange(map, chunkOffset, chunkLength, write);
                    progress(chunkOffset + chunkLength);
                }

                return pages;
            });
            touchTime = clock.Elapsed;
        }

        MemphysStats after = dev.GetStats();
        (long presentAfterTouch, long badPfnsAfterTouch) = Present(dev, map, basePfn);
        MemphysStats mapDelta = afterMap.Since(before);
        MemphysStats touchDelta = after.Since(afterMap);

        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = path,
                ["method"] = Common.Name(method),
                ["offset"] = offset,
                ["length"] = length,
                ["private"] = isPrivate,
                ["address"] = $"0x{map.BaseAddress:x}",
                ["pages"] = map.PageCount,
                ["pfnMap"] = pfnMap,
                ["mmapSeconds"] = mmapTime.TotalSeconds,
                ["residentAfterMmap"] = presentAfterMap, // present pages per the driver query (no longer -1 for VM_PFNMAP)
                ["wrongPfnsAfterMmap"] = badPfnsAfterMap,
                ["mmapStats"] = Common.ToJson(mapDelta),
                ["touched"] = touched,
                ["touchSeconds"] = touchTime.TotalSeconds,
                ["residentAfterTouch"] = presentAfterTouch,
                ["wrongPfnsAfterTouch"] = badPfnsAfterTouch,
                ["touchStats"] = Common.ToJson(touchDelta),
            });
        }
        else
        {
            output.KeyValues($"{path}: {Common.Name(method)} mapping of 0x{offset:x}+0x{length:x}",
            [
                ("address", $"0x{map.BaseAddress:x}"),
                ("pages", map.PageCount.ToString()),
                ("private", isPrivate.ToString()),
                ("mmap time", $"{mmapTime.TotalMilliseconds:F3} ms"),
                ("PFNs", $"0x{basePfn:x}-0x{basePfn + (ulong)map.PageCount - 1:x} (region base PFN 0x{info.BasePfn:x} + offset + index)"),
                ("present after mmap", PresentText(presentAfterMap, badPfnsAfterMap, map.PageCount)),
                ("bytes remapped", mapDelta.BytesRemapped.ToString()),
                ("faults in mmap", mapDelta.TotalFaults.ToString()),
                ("touched pages", touched.ToString()),
                ("touch time", $"{touchTime.TotalMilliseconds:F3} ms"),
                ("pte/pmd/pud faults", $"{touchDelta.PteFaults}/{touchDelta.PmdFaults}/{touchDelta.PudFaults}"),
                ("fallback faults", touchDelta.FallbackFaults.ToString()),
                ("present after touch", PresentText(presentAfterTouch, badPfnsAfterTouch, map.PageCount)),
                ("presence source", pfnMap
                    ? "driver page-table query (VM_PFNMAP: mincore and pagemap cannot see these pages)"
                    : "driver page-table query"),
            ]);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Present pages (driver page-table query) and how many of them map another PFN than base + index.</summary>
    private static (long Present, long WrongPfn) Present(MemphysDevice dev, MemphysMapping map, ulong basePfn)
    {
        PageTableEntry[] entries = dev.QueryPages(map);
        long present = 0, wrong = 0;
        for (long i = 0; i < entries.Length; i++)
        {
            if (entries[i].Present)
            {
                present++;
                wrong += entries[i].Pfn != basePfn + (ulong)i ? 1 : 0;
            }
        }

        return (present, wrong);
    }

    private static string PresentText(long present, long wrongPfns, long pages) =>
        $"{present} of {pages} pages" + (present == 0 ? "" : wrongPfns == 0 ? ", all at base + index" : $", {wrongPfns} at an unexpected PFN");

    internal static unsafe long TouchRange(MemphysMapping map, long offset, int length, bool write)
    {
        long pageSize = Environment.SystemPageSize;
        long pages = 0;
        byte* p = map.Pointer + offset;
        for (long i = 0; i < length; i += pageSize, pages++)
        {
            byte v = Volatile.Read(ref p[i]);
            if (write)
            {
                Volatile.Write(ref p[i], v);
            }
        }

        return pages;
    }
}
