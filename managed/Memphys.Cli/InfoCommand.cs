using System.CommandLine;
using System.Text.Json.Nodes;
using Memphys.Dma;

namespace Memphys.Cli;

internal static class InfoCommand
{
    public static Command Build()
    {
        var device = new Option<string?>("--device", "-d") { Description = "Device node (default: every /dev/memphysN)." };
        device.Validators.Add(Options.RequireNonEmpty);
        var json = Options.Json();
        var command = new Command("info", "Show region(s), physical range, the bus address to give a device, supported methods and fault sizes, current counters.")
        {
            device, json,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(device))));
        return command;
    }

    private static int Run(Output output, string? device)
    {
        IReadOnlyList<string> paths = device is not null ? [device] : MemphysDevice.Enumerate();
        if (paths.Count == 0)
        {
            paths = [MemphysDevice.DefaultPath]; // opening it reports the ENOENT in the usual one-line form
        }

        var array = new JsonArray();
        IReadOnlyList<string> iommus = Iommu.ActiveUnits();
        foreach (string path in paths)
        {
            using MemphysDevice dev = MemphysDevice.Open(path, readOnly: true);
            MemphysInfo info = dev.GetInfo();
            MemphysStats stats = dev.GetStats();
            string? source = dev.Source();
            array.Add(new JsonObject
            {
                ["device"] = path, ["source"] = source, ["info"] = Common.ToJson(info), ["stats"] = Common.ToJson(stats),
                ["dma"] = DmaJson(info, iommus),
            });
            output.KeyValues(path,
            [
                ("region", $"{Output.Size(info.RegionSize)} ({Output.Count(info.RegionSize)} bytes)"),
                ("source", source ?? "unknown (module without sysfs source)"),
                ("physical range", $"{Output.Hex(info.PhysicalBase)}-{Output.Hex(info.PhysicalEnd)}"),
                ("base pfn", Output.Hex(info.BasePfn)),
                ("page size", Output.Size(info.PageSize)),
                ("uapi version", Common.Inv(info.Version)),
                ("methods", string.Join(", ", info.SupportedMethods.Select(Common.Name))),
                ("pages method", info.PagesErrno == 0 ? "struct pages: O_DIRECT, vmsplice, process_vm_readv work on its mappings"
                    : $"none: {MemphysDevice.PagesUnavailableReason(info.PagesErrno)}"),
                ("caching modes", string.Join(", ", info.SupportedCaching.Select(Common.Name))),
                ("fault sizes", Common.FaultSizeList(info.FaultSizes)),
                ("method (this fd)", Common.Name(info.Method)),
                ("caching (region)", $"{Common.Name(info.Caching)}, for the module's life"),
                ("max fault size", Output.Size(info.MaxFaultSize)),
                ("fault-around", Common.FaultAroundText(info.FaultAround)),
                .. DmaRows(info, iommus),
                .. Common.StatsRows(stats),
            ]);
        }

        if (output.Json)
        {
            output.WriteJson(new JsonObject { ["devices"] = array });
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// The bus address to give a device for the region: the physical range when no IOMMU translates (on x86),
    /// else the IOVA the program maps it at through VFIO.
    /// </summary>
    private static (string, string)[] DmaRows(MemphysInfo info, IReadOnlyList<string> iommus)
    {
        string physical = $"{Output.Hex(info.PhysicalBase)}-{Output.Hex(info.PhysicalEnd)}";
        const string iova = "the IOVA you map the region at through VFIO (VFIO_IOMMU_MAP_DMA), not its physical address";
        return iommus.Count == 0
            ?
            [
                ("iommu", $"none active ({Iommu.ClassDirectory} is empty)"),
                ("bus address", $"{physical}, the physical range: without an IOMMU a device on x86 reaches RAM at its physical address"),
                ("with an IOMMU", iova),
            ]
            :
            [
                ("iommu", $"active: {string.Join(", ", iommus)}"),
                ("bus address", iova),
                ("without an IOMMU", $"{physical}, the physical range (also for a device whose IOMMU domain is identity, iommu=pt)"),
            ];
    }

    private static JsonObject DmaJson(MemphysInfo info, IReadOnlyList<string> iommus) => new()
    {
        ["iommus"] = new JsonArray(iommus.Select(u => (JsonNode)u).ToArray()),
        ["busAddress"] = iommus.Count == 0 ? "physical" : "iova",
        ["physicalBusBase"] = info.PhysicalBase,
        ["physicalBusEnd"] = info.PhysicalEnd,
    };
}
