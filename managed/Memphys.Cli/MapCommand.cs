using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Memphys.Verification;

namespace Memphys.Cli;

internal static class MapCommand
{
    public static Command Build()
    {
        var device = Options.Device();
        var json = Options.Json();
        var method = new Option<string>("--method", "-m") { Description = "remap, fault or pages.", Required = true };
        Options.OneOf(method, "remap", "fault", "pages");
        var offset = Options.Offset();
        var length = Options.Length("Bytes to map (default: to the end of the region).");
        var isPrivate = new Option<bool>("--private") { Description = "MAP_PRIVATE (copy-on-write; the fault method refuses it)." };
        var touch = new Option<bool>("--touch") { Description = "Touch (read) every page after mapping." };
        var write = new Option<bool>("--write") { Description = "With --touch: write every page instead of reading it." };
        var maxFault = Options.MaxFault();
        var faultAround = Options.FaultAround();
        var caching = new Option<string?>("--caching")
        {
            Description = "wb, wc or uc: must be the region's own type (chosen at load, regions=SIZE@BASE:TYPE); another is refused.",
        };
        Options.OneOf(caching, "wb", "wc", "uc");
        var command = new Command("map",
            "Map a range, optionally touch every page, and report time, driver faults and present pages. " +
            "Present pages and their PFNs come from the driver's page-table query (MEMPHYS_IOC_QUERY_PAGE): device mappings are " +
            "VM_PFNMAP, which mincore(2) and /proc/self/pagemap skip, so those would report every page as absent.")
        {
            device, json, method, offset, length, isPrivate, touch, write, maxFault, faultAround, caching,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device)!, Common.ParseMethod(r.GetValue(method)!),
            r.GetValue(offset), r.GetValue(length), r.GetValue(isPrivate), r.GetValue(touch), r.GetValue(write), r.GetValue(maxFault),
            r.GetValue(faultAround), r.GetValue(caching))));
        return command;
    }

    private static int Run(Output output, string path, MappingMethod method, long offset, long length, bool isPrivate, bool touch, bool write, long maxFault,
        uint faultAround, string? caching)
    {
        using MemphysDevice dev = MemphysDevice.Open(path);
        MemphysInfo info = dev.GetInfo();
        (offset, length) = Common.Range(info, offset, length, long.MaxValue);
        dev.SetMethod(method);
        if (caching is not null)
        {
            dev.SetCaching(Enum.GetValues<CachingMode>().First(m => m.ParameterName() == caching));
        }

        if (maxFault != 0)
        {
            dev.SetMaxFaultSize(maxFault);
        }

        Common.SetFaultAround(dev, faultAround);

        long alignment = method == MappingMethod.Fault ? Math.Max(dev.GetInfo().MaxFaultSize, info.PageSize) : 0;
        MemphysStats before = dev.GetStats();
        var clock = Stopwatch.StartNew();
        using MemphysMapping map = dev.Map(offset, length, MapProtection.ReadWrite, isPrivate, alignment);
        TimeSpan mmapTime = clock.Elapsed;
        MemphysStats afterMap = dev.GetStats();
        bool pfnMap = map.IsPfnMap; // mincore and pagemap cannot see VM_PFNMAP pages: ask the driver instead
        ulong basePfn = info.BasePfn + (ulong)(offset / info.PageSize);
        PageTableSummary afterMmap = PageTableVerifier.Summarize(dev, map);

        TimeSpan touchTime = TimeSpan.Zero;
        long touched = 0;
        if (touch)
        {
            clock.Restart();
            touched = output.WithProgress($"touching {Output.Count(map.PageCount)} pages", map.Length, progress =>
            {
                long pages = 0;
                foreach ((long chunkOffset, int chunkLength) in MemphysMapping.Chunks(map.Length, 64 << 20))
                {
                    pages += map.TouchPages(chunkOffset, chunkLength, write);
                    progress(chunkOffset + chunkLength);
                }

                return pages;
            });
            touchTime = clock.Elapsed;
        }

        MemphysStats after = dev.GetStats();
        PageTableSummary afterTouch = PageTableVerifier.Summarize(dev, map);
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
                ["address"] = (ulong)map.BaseAddress,
                ["pages"] = map.PageCount,
                ["firstPfn"] = basePfn,
                ["pfnMap"] = pfnMap,
                ["mmapSeconds"] = mmapTime.TotalSeconds,
                ["presentAfterMmap"] = afterMmap.Present,
                ["wrongPfnsAfterMmap"] = afterMmap.WrongPfn,
                ["mmapStats"] = Common.ToJson(mapDelta),
                ["touched"] = touched,
                ["touchSeconds"] = touchTime.TotalSeconds,
                ["presentAfterTouch"] = afterTouch.Present,
                ["wrongPfnsAfterTouch"] = afterTouch.WrongPfn,
                ["touchStats"] = Common.ToJson(touchDelta),
            });
        }
        else
        {
            output.KeyValues($"{path}: {Common.Name(method)} mapping of {Output.Size((ulong)length)} at region offset {Output.Hex((ulong)offset)}",
            [
                ("address", Output.Hex((ulong)map.BaseAddress)),
                ("pages", Output.Count(map.PageCount)),
                ("private", Output.YesNo(isPrivate)),
                ("mmap time", Output.Milliseconds(mmapTime)),
                ("PFNs", $"{Output.Hex(basePfn)}-{Output.Hex(basePfn + (ulong)map.PageCount - 1)} (region base PFN {Output.Hex(info.BasePfn)} + offset + index)"),
                ("present after mmap", PresentText(afterMmap)),
                ("bytes remapped", Output.Size(mapDelta.BytesRemapped)),
                ("faults in mmap", Output.Count(mapDelta.TotalFaults)),
                ("touched pages", Output.Count(touched)),
                ("touch time", Output.Milliseconds(touchTime)),
                ("pte/pmd/pud faults", $"{Output.Count(touchDelta.PteFaults)}/{Output.Count(touchDelta.PmdFaults)}/{Output.Count(touchDelta.PudFaults)}"),
                ("fallback faults", Output.Count(touchDelta.FallbackFaults)),
                ("prefaulted pages", $"{Output.Count(touchDelta.Prefaulted)} (fault-around {Common.Inv(dev.GetInfo().FaultAround)})"),
                ("present after touch", PresentText(afterTouch)),
                ("presence source", pfnMap
                    ? "driver page-table query (VM_PFNMAP: mincore and pagemap cannot see these pages)"
                    : "driver page-table query"),
            ]);
        }

        return ExitCodes.Ok;
    }

    private static string PresentText(PageTableSummary s) =>
        $"{Output.Count(s.Present)} of {Output.Count(s.Pages)} pages" +
        (s.Present == 0 ? "" : s.WrongPfn == 0 ? ", all at base + index" : $", {Output.Count(s.WrongPfn)} at an unexpected PFN");
}
