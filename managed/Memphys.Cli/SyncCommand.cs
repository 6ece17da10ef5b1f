using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>
/// <c>memphys sync</c>: the cache maintenance a program does around a device's DMA (MEMPHYS_IOC_SYNC), for scripts
/// and for checking what a region needs. Offsets and lengths are bytes, not pages: the driver maintains every cache
/// line the range touches.
/// </summary>
internal static class SyncCommand
{
    public static Command Build()
    {
        var device = Options.Device();
        var offset = new Option<long>("--offset")
        {
            Description = "Byte offset in the region (any byte; accepts 0x.., K/M/G suffixes).",
            CustomParser = r => Bytes(r, "--offset", allowZero: true),
            DefaultValueFactory = _ => 0,
        };
        var length = new Option<long>("--length")
        {
            Description = "Bytes to sync (any count above 0); default: to the end of the region.",
            CustomParser = r => Bytes(r, "--length", allowZero: false),
            DefaultValueFactory = _ => 0,
        };
        var direction = new Option<string>("--direction")
        {
            Description = "to-device (clean: after the CPU wrote, before the device reads), from-device (clean and " +
                "invalidate: before the device writes and after it wrote, before the CPU reads) or bidirectional.",
            HelpName = "bidirectional|from-device|to-device",
            CustomParser = ParseDirection,
            DefaultValueFactory = _ => SyncDirection.Bidirectional.ParameterName(),
        };
        var json = Options.Json();
        var command = new Command("sync", "Cache maintenance of a range around a device's DMA (arm64 without dma-coherent); says whether it was needed.")
        {
            device, offset, length, direction, json,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o =>
            Run(o, r.GetValue(device)!, r.GetValue(offset), r.GetValue(length), Direction(r.GetValue(direction)!))));
        return command;
    }

    private static int Run(Output output, string path, long offset, long length, SyncDirection direction)
    {
        // Read-only is enough: maintenance never changes what a coherent reader sees.
        using MemphysDevice dev = MemphysDevice.Open(path, readOnly: true);
        long bytes = length;
        if (bytes == 0)
        {
            long size = (long)dev.GetInfo().RegionSize;
            bytes = offset < size ? size - offset : 1; // past the end: the driver's ERANGE says so
        }

        SyncResult result = dev.Sync(offset, bytes, direction);
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["device"] = path, ["offset"] = offset, ["length"] = bytes, ["direction"] = direction.ParameterName(),
                ["performed"] = result == SyncResult.Performed, ["result"] = result.ToString(),
            });
            return ExitCodes.Ok;
        }

        output.KeyValues(path,
        [
            ("range", $"{Output.Hex((ulong)offset)}+{Output.Hex((ulong)bytes)} ({Output.Size((ulong)bytes)})"),
            ("direction", direction.ParameterName()),
            ("result", result.Describe()),
        ]);
        return ExitCodes.Ok;
    }

    private static long Bytes(ArgumentResult r, string name, bool allowZero)
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        if (!Options.TryParseSize(token, out long value))
        {
            r.AddError($"{name} '{token}' is not a size (examples: 100, 0x1000, 64K, 16M, 1G).");
            return 0;
        }

        if ((!allowZero && value == 0) || value > Options.MaxBytes)
        {
            r.AddError($"{name} {token} must be a byte count{(allowZero ? "" : " above 0")}, at most {MemphysDevice.FormatSize(Options.MaxBytes)}.");
            return 0;
        }

        return value;
    }

    /// <summary>One error line, unlike AcceptOnlyFromAmong's list of the values.</summary>
    private static string ParseDirection(ArgumentResult r)
    {
        string token = r.Tokens.Count > 0 ? r.Tokens[0].Value : "";
        if (!SyncResultNames.TryParseDirection(token, out _))
        {
            r.AddError($"--direction '{token}' must be to-device, from-device or bidirectional.");
        }

        return token;
    }

    /// <summary>The direction of an accepted --direction value (the parser admits only those).</summary>
    private static SyncDirection Direction(string text) =>
        SyncResultNames.TryParseDirection(text, out SyncDirection direction) ? direction
            : throw new UsageException($"--direction '{text}' must be to-device, from-device or bidirectional.");
}
