using System.CommandLine;
using System.Text.Json.Nodes;
using Memphys.Dma;
using Memphys.Pci;
using Memphys.Vfio;

namespace Memphys.Cli;

/// <summary>
/// <c>memphys dma-check</c>: the device round trip through an IOMMU (<see cref="VfioRoundTrip"/>) against a PCI
/// device bound to vfio-pci, the command that confirms a device and a region agree.
/// </summary>
internal static class DmaCheckCommand
{
    private const long DefaultLength = 2L << 20;

    public static Command Build()
    {
        var vfio = new Option<string>("--vfio")
        {
            Description = "PCI address of the device, bound to vfio-pci (e.g. 0000:00:04.0). It must be edu-compatible: " +
                "QEMU's edu DMA engine (1234:11e8), the one device whose DMA this command knows how to drive.",
            Required = true,
            CustomParser = r =>
            {
                string value = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
                if (!VfioPciDevice.IsPciAddress(value))
                {
                    r.AddError($"--vfio '{value}' is not a PCI address: DDDD:BB:DD.F in lower-case hex, e.g. 0000:00:04.0.");
                }

                return value;
            },
        };
        var device = Options.Device();
        var json = Options.Json();
        var offset = Options.Offset();
        var length = Options.Length($"Bytes of the region to map and check: at least {VfioRoundTrip.MinimumLength / 1024} KiB (default 2 MiB or the region).");
        var method = new Option<string?>("--method", "-m") { Description = "remap, fault or pages (default: the driver's)." };
        Options.OneOf(method, "remap", "fault", "pages");
        var iova = new Option<long?>("--iova")
        {
            Description = "IOVA to give the range (page-aligned; default: its physical address, the bus address it has without an IOMMU).",
            CustomParser = r => Options.ParsePages(r, "--iova", allowZero: true),
        };
        var seed = Options.Seed();
        var command = new Command("dma-check",
            "Give a range of the region an IOVA in the device's VFIO container (VFIO_IOMMU_MAP_DMA) and let the device copy " +
            "a pattern from the range's first page to its middle and its end; then check every byte of the range. " +
            "Exit code 0 when every byte holds what it must, 1 otherwise; 3 when the device is missing, not bound to vfio-pci " +
            "or not edu-compatible.")
        {
            vfio, device, json, offset, length, method, iova, seed,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(vfio)!, r.GetValue(device)!,
            r.GetValue(method) is { } m ? Common.ParseMethod(m) : null, r.GetValue(offset), r.GetValue(length), r.GetValue(iova) ?? -1,
            Options.ResolveSeed(r.GetValue(seed)))));
        return command;
    }

    private static int Run(Output output, string address, string path, MappingMethod? method, long offset, long length, long iova, ulong seed)
    {
        using MemphysDevice dev = MemphysDevice.Open(path);
        if (method is { } chosen)
        {
            dev.SetMethod(chosen);
        }

        MemphysInfo info = dev.GetInfo();
        (offset, length) = Common.Range(info, offset, length, DefaultLength);
        if (length < VfioRoundTrip.MinimumLength || length > int.MaxValue)
        {
            throw new UsageException($"--length {length} must be from {VfioRoundTrip.MinimumLength} bytes to 2 GiB.");
        }

        EduDevice.RequireIds(address, "dma-check");
        using VfioPciDevice vfio = VfioPciDevice.Open(address);
        using MmioWindow bar = vfio.Device.MapRegion(0);
        EduDevice edu = EduDevice.Attach(bar, address, "dma-check");

        vfio.Device.EnableBusMaster();
        using MemphysMapping map = dev.Map(offset, length);
        ulong physical = info.PhysicalBase + (ulong)offset;
        ulong at = iova >= 0 ? (ulong)iova : physical;
        output.Line($"dma-check {address} -> {path}: 0x{offset:x}+0x{length:x} ({Output.Size((ulong)length)}), {Common.Name(info.Method)}, " +
            $"physical {Output.Hex(physical)}, IOVA {Output.Hex(at)}, IOMMU {vfio.Container.IommuType}, seed {seed}");
        VfioRoundTripResult result = VfioRoundTrip.Run(vfio.Container, edu, map, at, seed);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["vfio"] = address, ["device"] = path, ["method"] = Common.Name(info.Method), ["offset"] = offset, ["length"] = length,
                ["physicalAddress"] = physical, ["iova"] = at, ["iommu"] = vfio.Container.IommuType?.ToString(), ["seed"] = seed,
                ["transfers"] = result.Transfers, ["bytesMoved"] = result.BytesMoved, ["bytesChecked"] = result.BytesChecked,
                ["mismatches"] = result.Mismatches, ["firstMismatch"] = result.FirstMismatch, ["passed"] = result.Passed,
            });
        }

        output.Line($"{Output.Count(result.Transfers)} transfers, {Output.Count(result.BytesMoved)} bytes moved, " +
            $"{Output.Count(result.BytesChecked)} bytes checked, {Output.Count(result.Mismatches)} differ" +
            (result.Passed ? "" : $" (first at offset 0x{result.FirstMismatch:x})"));
        output.Line(result.Passed ? "dma-check: ok" : "dma-check: FAIL");
        return result.Passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }
}
