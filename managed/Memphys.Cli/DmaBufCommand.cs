using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>
/// <c>memphys dmabuf</c>: exports a range of the region as a dma-buf and shows what the kernel made of it (its size,
/// inode and exporter from /proc/self/fdinfo), then releases it when the command exits.
/// </summary>
internal static class DmaBufCommand
{
    public static Command Build()
    {
        var device = Options.Device();
        var offset = Options.Offset();
        var length = Options.Length("Bytes to export (page-aligned; K/M/G suffixes); default: the rest of the region.");
        var readOnly = new Option<bool>("--read-only") { Description = "Export O_RDONLY (no writable mapping of the dma-buf) instead of O_RDWR." };
        var json = Options.Json();
        var command = new Command("dmabuf", "Export a range of the region as a dma-buf (for V4L2, DRM, RDMA importers) and show its properties.")
        {
            device, offset, length, readOnly, json,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o =>
            Run(o, r.GetValue(device)!, r.GetValue(offset), r.GetValue(length), r.GetValue(readOnly))));
        return command;
    }

    private static int Run(Output output, string path, long offset, long length, bool readOnly)
    {
        using MemphysDevice dev = MemphysDevice.Open(path, readOnly);
        MemphysInfo info = dev.GetInfo();
        if (length == 0)
        {
            // The rest of the region; an offset past its end leaves 0, which the driver refuses (EINVAL).
            length = offset < (long)info.RegionSize ? (long)info.RegionSize - offset : 0;
        }

        using SafeDmaBufHandle buf = dev.ExportDmaBuf(offset, length, writable: !readOnly);
        DmaBufInfo fd = buf.ReadInfo();
        ulong physical = info.PhysicalBase + (ulong)offset;
        string mode = readOnly ? "O_RDONLY" : "O_RDWR";
        string type = Common.Name(info.Caching);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = path, ["fd"] = buf.Fd, ["mode"] = mode, ["offset"] = offset, ["length"] = length,
                ["physicalBase"] = physical, ["physicalEnd"] = physical + (ulong)length - 1,
                ["size"] = fd.Size, ["inode"] = fd.Inode, ["exporter"] = fd.ExporterName, ["count"] = fd.Count,
                ["flags"] = fd.Flags, ["memoryType"] = type,
            });
            return ExitCodes.Ok;
        }

        output.KeyValues($"{path} dma-buf",
        [
            ("fd", $"{buf.Fd} ({mode}, O_CLOEXEC), released when this command exits"),
            ("range", $"{Output.Hex((ulong)offset)}+{Output.Hex((ulong)length)} of the region"),
            ("physical range", $"{Output.Hex(physical)}-{Output.Hex(physical + (ulong)length - 1)}"),
            ("size (fdinfo)", $"{Output.Size((ulong)fd.Size)} ({Output.Count(fd.Size)} bytes)"),
            ("inode (fdinfo)", Common.Inv(fd.Inode)),
            ("exporter (fdinfo)", fd.ExporterName),
            ("references (fdinfo)", Common.Inv(fd.Count)),
            ("memory type", $"{type}: importers' vmap and mmap of the dma-buf get the region's type"),
        ]);
        return ExitCodes.Ok;
    }
}
