using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>
/// <c>memphys memmap --size 1G</c>: proposes the <c>memmap=</c> kernel parameter (and the matching
/// <c>regions=</c> module option) for this machine and explains how to add it to GRUB. Boot files are
/// written only with <c>--apply</c>, and then only a GRUB drop-in (an existing one is backed up first).
/// </summary>
internal static class MemmapCommand
{
    public const string DefaultGrubDropIn = "/etc/default/grub.d/memphys.cfg";

    private sealed record Sources(string Iomem, string FirmwareMemmap, string Cmdline);

    public static Command Build()
    {
        var size = new Option<long>("--size", "-s")
        {
            Description = "RAM to reserve (multiple of 4 KiB; e.g. 512M, 1G, 0x40000000).",
            CustomParser = r => Options.ParseSize(r, "--size"),
        };
        var check = new Option<string?>("--check")
        {
            Description = "Instead of proposing: check regions SIZE@BASE[,...] (default: the loaded memphys regions) against the " +
                          "firmware map as memphys does at load: each must lie wholly in \"System RAM\" entries.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var sysfs = new Option<string>("--sysfs") { Description = "Directory of the memphysN class devices (--check without regions).", DefaultValueFactory = _ => "/sys/class/misc" };
        var align = new Option<long>("--align")
        {
            Description = "Alignment of the base (power of two; default 1G for sizes from 1G, else 2M: huge faults need it).",
            CustomParser = r => Options.ParseSize(r, "--align"),
        };
        var apply = new Option<bool>("--apply")
        {
            Description = $"Write the parameter to the GRUB drop-in (--grub-dropin; an existing file is kept as .bak). Never runs update-grub.",
        };
        var dropIn = new Option<string>("--grub-dropin")
        {
            Description = "GRUB drop-in file written by --apply (Debian reads /etc/default/grub.d/*.cfg).",
            DefaultValueFactory = _ => DefaultGrubDropIn,
        };
        var iomem = new Option<string>("--iomem") { Description = "Read this file instead of /proc/iomem.", DefaultValueFactory = _ => "/proc/iomem" };
        var firmware = new Option<string>("--firmware-memmap")
        {
            Description = "Read this directory instead of /sys/firmware/memmap.",
            DefaultValueFactory = _ => PhysicalMemoryMap.FirmwareMemmapDirectory,
        };
        var cmdline = new Option<string>("--cmdline") { Description = "Read this file instead of /proc/cmdline.", DefaultValueFactory = _ => "/proc/cmdline" };
        var json = Options.Json();
        var command = new Command("memmap",
            "Propose the memmap=SIZE$BASE kernel parameter that reserves RAM for memphys on this machine: the highest " +
            "aligned range of RAM in the firmware map (/sys/firmware/memmap) that the running kernel still manages " +
            "(/proc/iomem, minus memmap= reservations on /proc/cmdline), leaving at least 1 GiB to Linux. Prints how to " +
            "add it to GRUB (escaping '$') and the matching 'options memphys regions=' line. Writes nothing unless --apply. " +
            "With --check, says instead whether memphys will accept the given (or loaded) regions by the firmware map.")
        {
            size, align, apply, dropIn, iomem, firmware, cmdline, check, sysfs, json,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => r.GetResult(check) is not null
            ? Check(o, r.GetValue(check), r.GetValue(sysfs)!, r.GetValue(firmware)!)
            : Run(o, r.GetValue(size), r.GetValue(align), r.GetValue(apply) ? r.GetValue(dropIn)! : null,
                new Sources(r.GetValue(iomem)!, r.GetValue(firmware)!, r.GetValue(cmdline)!))));
        return command;
    }

    /// <summary>
    /// --check: what memphys says of each region at load by the firmware map (driver/memphys_region.c), so that a
    /// memmap= over firmware-reserved memory is caught before the reboot rather than by a refused load.
    /// </summary>
    private static int Check(Output output, string? regionList, string sysfs, string firmwareDir)
    {
        IReadOnlyList<PhysicalRange> regions = regionList is null ? RegionList.Loaded(sysfs) : RegionList.Parse(regionList, "--check");
        if (regions.Count == 0)
        {
            throw new UsageException($"--check: no regions given and no loaded memphys region in {sysfs} (phys_base needs root)");
        }

        IReadOnlyList<MemoryMapEntry> firmware = PhysicalMemoryMap.ReadFirmwareMemmap(firmwareDir);
        if (firmware.Count == 0)
        {
            string reason = $"no firmware memory map in {firmwareDir} (x86 only; sysfs mounted?): nothing to check the regions against";
            Console.Error.WriteLine($"memphys: {reason}");
            if (output.Json)
            {
                output.WriteJson(new JsonObject { ["error"] = reason, ["exitCode"] = ExitCodes.CheckFailed });
            }

            return ExitCodes.CheckFailed;
        }

        var verdicts = regions.Select(r => (Region: r, Refusal: PhysicalMemoryMap.FirmwareRefusal(firmware, r))).ToList();
        int code = verdicts.All(v => v.Refusal is null) ? ExitCodes.Ok : ExitCodes.CheckFailed;
        if (output.Json)
        {
            output.WriteJson(new JsonObject
            {
                ["firmwareMap"] = firmwareDir,
                ["regions"] = new JsonArray(verdicts.Select(v => (JsonNode)new JsonObject
                {
                    ["start"] = v.Region.Start,
                    ["end"] = v.Region.End,
                    ["accepted"] = v.Refusal is null,
                    ["reason"] = v.Refusal,
                }).ToArray()),
                ["exitCode"] = code,
            });
            return code;
        }

        output.KeyValues($"firmware map check ({firmwareDir}): what memphys decides at load",
            verdicts.Select(v => ($"{Output.Size(v.Region.Size)} at 0x{v.Region.Start:x}",
                v.Refusal is null ? "accepted: System RAM in the firmware map" : $"refused: {v.Refusal}")).ToArray());
        return code;
    }

    private static int Run(Output output, long size, long align, string? applyTo, Sources sources)
    {
        if (size == 0)
        {
            throw new UsageException("--size is required (or --check)");
        }

        if (size <= 0 || size % 4096 != 0)
        {
            throw new UsageException($"--size 0x{size:x} is not a positive multiple of 4 KiB");
        }

        ulong alignment = align != 0 ? (ulong)align : PhysicalMemoryMap.DefaultAlignment((ulong)size);
        if (alignment < 4096 || !ulong.IsPow2(alignment))
        {
            throw new UsageException($"--align 0x{alignment:x} is not a power of two of at least 4 KiB");
        }

        IReadOnlyList<MemoryMapEntry> iomem = PhysicalMemoryMap.ParseIomem(File.ReadAllText(sources.Iomem));
        IReadOnlyList<MemoryMapEntry> firmware = PhysicalMemoryMap.ReadFirmwareMemmap(sources.FirmwareMemmap);
        string cmdline = File.ReadAllText(sources.Cmdline).Trim();
        IReadOnlyList<PhysicalRange> reserved = PhysicalMemoryMap.ParseMemmapReservations(cmdline);
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam(firmware, iomem, reserved);
        if (!PhysicalMemoryMap.TryPropose((ulong)size, alignment, free, out MemmapProposal? proposal, out string reason))
        {
            Console.Error.WriteLine($"memphys: {reason}");
            if (output.Json)
            {
                output.WriteJson(new JsonObject { ["error"] = reason, ["exitCode"] = ExitCodes.CheckFailed });
            }

            return ExitCodes.CheckFailed;
        }

        string? backup = applyTo is null ? null : Apply(applyTo, proposal!, cmdline);
        string mapSource = firmware.Count > 0 ? $"{sources.FirmwareMemmap} (firmware)" : $"{sources.Iomem} (no firmware map)";
        if (output.Json)
        {
            output.WriteJson(ToJson(proposal!, reserved, mapSource, applyTo, backup));
            return ExitCodes.Ok;
        }

        output.KeyValues($"memmap proposal: {Output.Size((ulong)size)} of RAM for memphys",
        [
            ("RAM ranges from", mapSource),
            ("already reserved", reserved.Count == 0 ? "nothing (no memmap= on the kernel command line)" : string.Join(", ", reserved)),
            ("RAM in use by Linux", $"{Approx(proposal!.RamUsable)} in {free.Count} range(s)"),
            ("proposed range", $"{proposal.Range} ({Output.Size(proposal.Range.Size)}, aligned to {Output.Size(alignment)})"),
            ("taken from", $"System RAM {proposal.Within}"),
            ("RAM left to Linux", Approx(proposal.RamLeft)),
            ("kernel parameter", proposal.KernelParameter),
            ("module option", $"options memphys regions={proposal.Regions}"),
        ]);
        output.Line("");
        foreach (string line in Instructions(proposal, applyTo, backup))
        {
            output.Line(line);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Writes the GRUB drop-in; returns the backup of a previous file, if there was one.</summary>
    private static string? Apply(string path, MemmapProposal proposal, string cmdline)
    {
        string? backup = null;
        if (File.Exists(path))
        {
            backup = path + ".bak";
            File.Copy(path, backup, overwrite: true);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path,
            $"# Written by 'memphys memmap --apply' ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC): reserves {Output.Size(proposal.Range.Size)} of RAM\n" +
            $"# for memphys at {proposal.Range}. The running kernel had: {cmdline}\n" +
            "# '$' is written as '\\\\\\$': this file is read by a shell, and grub.cfg would expand a bare '$'.\n" +
            "# Delete this file and run update-grub to drop the reservation.\n" +
            $"GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX {proposal.GrubParameter}\"\n");
        return backup;
    }

    private static IEnumerable<string> Instructions(MemmapProposal p, string? applied, string? backup)
    {
        if (applied is not null)
        {
            yield return "Reserve it at boot with GRUB:";
            yield return $"  1. Done: {applied} appends {p.GrubParameter} to GRUB_CMDLINE_LINUX" +
                         (backup is null ? "" : $" (previous file kept as {backup})");
        }
        else
        {
            yield return "Reserve it at boot with GRUB (nothing was written; --apply writes step 1 to " + DefaultGrubDropIn + "):";
            yield return "  1. In /etc/default/grub, append the parameter to GRUB_CMDLINE_LINUX, with '$' escaped as '\\\\\\$'";
            yield return "     (the file is read by a shell, and grub.cfg would expand a bare '$'):";
            yield return $"       GRUB_CMDLINE_LINUX=\"... {p.GrubParameter}\"";
        }

        yield return "  2. sudo update-grub && sudo reboot";
        yield return $"  3. Check: grep -o 'memmap=[^ ]*' /proc/cmdline shows {p.KernelParameter};";
        yield return $"     sudo grep -i reserved /proc/iomem lists {p.Range.Start:x}-{p.Range.End:x} (inside a Reserved range)";
        yield return $"  4. Load memphys: sudo make install REGIONS={p.Regions} (writes /etc/modprobe.d/memphys.conf:";
        yield return $"     options memphys regions={p.Regions}), then: sudo modprobe memphys; memphys info";
    }

    private static string Approx(ulong bytes) =>
        bytes % (1UL << 20) == 0 ? Output.Size(bytes) : $"{bytes / (double)(1UL << 30):0.00} GiB ({bytes} bytes)";

    private static JsonObject ToJson(MemmapProposal p, IReadOnlyList<PhysicalRange> reserved, string mapSource, string? applied, string? backup) => new()
    {
        ["size"] = p.Range.Size,
        ["alignment"] = p.Alignment,
        ["start"] = p.Range.Start,
        ["end"] = p.Range.End,
        ["within"] = new JsonObject { ["start"] = p.Within.Start, ["end"] = p.Within.End },
        ["ramUsable"] = p.RamUsable,
        ["ramLeft"] = p.RamLeft,
        ["reserved"] = new JsonArray(reserved.Select(r => (JsonNode)new JsonObject { ["start"] = r.Start, ["end"] = r.End }).ToArray()),
        ["mapSource"] = mapSource,
        ["kernelParameter"] = p.KernelParameter,
        ["grubParameter"] = p.GrubParameter,
        ["regions"] = p.Regions,
        ["applied"] = applied,
        ["backup"] = backup,
    };
}
