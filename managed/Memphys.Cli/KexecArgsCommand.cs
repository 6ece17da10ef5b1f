using System.CommandLine;
using System.Text.Json.Nodes;
using Memphys.Persistence;

namespace Memphys.Cli;

/// <summary>
/// <c>memphys kexec-args</c>: prints the <c>kexec</c> invocations and the <c>--append</c> command line that boot a
/// kernel without touching the reserved regions (library: <see cref="KexecPlan"/>). Needs no device: the regions
/// come from the loaded module's sysfs attributes or from <c>--regions</c>.
/// </summary>
internal static class KexecArgsCommand
{
    public static Command Build()
    {
        var kernel = new Option<string?>("--kernel") { Description = "Kernel image to load (default: /boot/vmlinuz-RELEASE of the running kernel)." };
        var initrd = new Option<string?>("--initrd") { Description = "Its initrd (default: /boot/initrd.img-RELEASE if it exists; 'none' for none)." };
        var cmdline = new Option<string>("--cmdline") { Description = "Read the running command line from this file.", DefaultValueFactory = _ => "/proc/cmdline" };
        var regions = new Option<string?>("--regions")
        {
            Description = "Regions to keep, SIZE@BASE[,SIZE@BASE...] (default: the loaded memphys regions, from --sysfs).",
        };
        var sysfs = new Option<string>("--sysfs") { Description = "Directory of the memphysN class devices.", DefaultValueFactory = _ => "/sys/class/misc" };
        var append = new Option<string?>("--append") { Description = "Extra words for the new kernel's command line." };
        var json = Options.Json();
        var command = new Command("kexec-args",
            "Print the kexec invocation and --append command line that keep the reserved regions intact across kexec: the running " +
            "command line (its memmap= ranges; memmap= added for a loaded region it lacks), 'kexec -s -l' (kexec_file_load, which " +
            "places segments in System RAM only) and the 'kexec -l --mem-max' alternative. Warns about 'kexec -l' without --mem-max " +
            "and about more memmap= ranges than KASLR avoids. Runs nothing.")
        {
            kernel, initrd, cmdline, regions, sysfs, append, json,
        };
        command.SetAction(r => Program.Guard(r.GetValue(json), o => Run(o, r.GetValue(kernel), r.GetValue(initrd), r.GetValue(cmdline)!,
            r.GetValue(regions), r.GetValue(sysfs)!, r.GetValue(append))));
        return command;
    }

    private static int Run(Output output, string? kernel, string? initrd, string cmdlinePath, string? regionList, string sysfs, string? append)
    {
        IReadOnlyList<PhysicalRange> regions = regionList is null ? RegionList.Loaded(sysfs) : RegionList.Parse(regionList, "--regions");
        string release = File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease").Trim() : "RELEASE";
        kernel ??= $"/boot/vmlinuz-{release}";
        if (initrd is null)
        {
            string guess = $"/boot/initrd.img-{release}";
            initrd = File.Exists(guess) ? guess : null;
        }
        else if (initrd == "none")
        {
            initrd = null;
        }

        KexecPlan plan = KexecPlan.Create(kernel, initrd, File.ReadAllText(cmdlinePath).Trim(), regions, append);
        if (output.Json)
        {
            output.WriteJson(ToJson(plan));
            return ExitCodes.Ok;
        }

        output.KeyValues("kexec that keeps the reserved RAM",
        [
            ("kernel", plan.Kernel),
            ("initrd", plan.Initrd ?? "none"),
            ("kept ranges", plan.Kept.Count == 0 ? "none" : string.Join(", ", plan.Kept)),
            ("memmap= added", plan.Added.Count == 0 ? "none (the command line reserves every region)" : string.Join(' ', plan.Added)),
            ("--mem-max", plan.MemMax is { } max ? $"0x{max:x}" : "not needed"),
        ]);
        output.Line("");
        output.Line("Load with kexec_file_load (segments in System RAM only), then boot it:");
        output.Line($"  {plan.FileLoadCommand}");
        output.Line("  kexec -e        # or: systemctl kexec");
        output.Line("Or with kexec_load, kept below every reserved range:");
        output.Line($"  {plan.LoadCommand}");
        foreach (string warning in plan.Warnings)
        {
            output.Line($"warning: {warning}");
        }

        return ExitCodes.Ok;
    }

    private static JsonObject ToJson(KexecPlan plan) => new()
    {
        ["kernel"] = plan.Kernel,
        ["initrd"] = plan.Initrd,
        ["append"] = plan.Append,
        ["kept"] = new JsonArray(plan.Kept.Select(r => (JsonNode)new JsonObject { ["start"] = r.Start, ["end"] = r.End }).ToArray()),
        ["added"] = new JsonArray(plan.Added.Select(a => (JsonNode)JsonValue.Create(a)).ToArray()),
        ["memMax"] = plan.MemMax,
        ["fileLoadCommand"] = plan.FileLoadCommand,
        ["loadCommand"] = plan.LoadCommand,
        ["warnings"] = new JsonArray(plan.Warnings.Select(w => (JsonNode)JsonValue.Create(w)).ToArray()),
    };
}
