using System.Diagnostics;
using System.Text.Json.Nodes;
using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>The <c>memmap</c> subcommand run in-process on the captured guest maps.</summary>
[Collection("Console")]
public sealed class MemmapCommandTests
{
    private static string[] GuestSources(params string[] args)
    {
        string dir = PhysicalMemoryMapTests.Sample("qemu-q35-4g-memmap-1g");
        return ["memmap", .. args, "--iomem", Path.Combine(dir, "iomem.txt"),
            "--firmware-memmap", Path.Combine(dir, "firmware-memmap"), "--cmdline", Path.Combine(dir, "cmdline.txt")];
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void PrintsTheProposalAndTheGrubSteps()
    {
        (int code, string stdout, _) = Run(GuestSources("--size", "1G"));
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("kernel parameter    memmap=1G$0x140000000", stdout);
        Assert.Contains("options memphys regions=1G@0x140000000", stdout);
        Assert.Contains(@"GRUB_CMDLINE_LINUX=""... memmap=1G\\\$0x140000000""", stdout);
        Assert.Contains("update-grub", stdout);
        Assert.Contains("nothing was written", stdout);
    }

    [Fact]
    public void JsonCarriesEveryParameter()
    {
        (int code, string stdout, _) = Run(GuestSources("--size", "1G", "--json"));
        Assert.Equal(ExitCodes.Ok, code);
        JsonNode json = JsonNode.Parse(stdout)!;
        Assert.Equal(0x140000000UL, json["start"]!.GetValue<ulong>());
        Assert.Equal("memmap=1G$0x140000000", json["kernelParameter"]!.GetValue<string>());
        Assert.Equal("1G@0x140000000", json["regions"]!.GetValue<string>());
        Assert.Null(json["applied"]);
    }

    [Theory]
    [InlineData("--size", "1000")]
    [InlineData("--size", "1G", "--align", "3M")]
    [InlineData("--align", "1G")]
    public void BadSizesAreUsageErrors(params string[] args)
    {
        (int code, _, string stderr) = Run(GuestSources(args));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("memphys: ", stderr);
    }

    [Fact]
    public void CheckSaysWhatTheDriverDecidesByTheFirmwareMap()
    {
        // The sample's firmware map: System RAM 0x100000000-0x17fffffff, Reserved 0xb0000000-0xbfffffff.
        (int code, string stdout, _) = Run(GuestSources("--check", "1G@0x100000000,64M@0xb0000000:pages,1G@0x160000000"));
        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.Contains("1 GiB at 0x100000000 accepted: System RAM in the firmware map", stdout);
        Assert.Contains("64 MiB at 0xb0000000 refused: the firmware keeps 0xb0000000-0xbfffffff for itself (\"Reserved\")", stdout);
        Assert.Contains("1 GiB at 0x160000000 refused: the firmware map has no RAM at 0x180000000", stdout);

        (code, stdout, _) = Run(GuestSources("--check", "1G@0x100000000", "--json"));
        Assert.Equal(ExitCodes.Ok, code);
        JsonNode region = JsonNode.Parse(stdout)!["regions"]![0]!;
        Assert.True(region["accepted"]!.GetValue<bool>());
        Assert.Equal(0x13fffffffUL, region["end"]!.GetValue<ulong>());
    }

    [Theory]
    [InlineData("--check", "1G")]
    [InlineData("--check", "--sysfs", "/nonexistent")]
    [InlineData("--align", "2M")]
    public void BadChecksAreUsageErrors(params string[] args)
    {
        (int code, _, string stderr) = Run(GuestSources(args));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("memphys: ", stderr);
    }

    [Fact]
    public void CheckWithoutAFirmwareMapFails()
    {
        (int code, _, string stderr) = Run(["memmap", "--check", "1G@0x100000000", "--firmware-memmap", "/nonexistent"]);
        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.StartsWith("memphys: no firmware memory map in /nonexistent", stderr);
    }

    [Fact]
    public void NoRoomIsAFailedCheck()
    {
        (int code, _, string stderr) = Run(GuestSources("--size", "2G"));
        Assert.Equal(ExitCodes.CheckFailed, code);
        Assert.StartsWith("memphys: reserving 2 GiB would leave", stderr);
    }

    [Fact]
    public void ApplyWritesADropInThatAShellReadsBackAsGrubNeedsIt()
    {
        string dir = Directory.CreateTempSubdirectory("memphys-grub-").FullName;
        string dropIn = Path.Combine(dir, "grub.d", "memphys.cfg");
        try
        {
            Assert.Equal(ExitCodes.Ok, Run(GuestSources("--size", "1G", "--apply", "--grub-dropin", dropIn)).Code);
            Assert.False(File.Exists(dropIn + ".bak"));
            string first = File.ReadAllText(dropIn);
            (int code, string stdout, _) = Run(GuestSources("--size", "256M", "--apply", "--grub-dropin", dropIn));
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains($"previous file kept as {dropIn}.bak", stdout);
            Assert.Contains($"1. Done: {dropIn} appends", stdout);
            Assert.Equal(first, File.ReadAllText(dropIn + ".bak"));

            // grub-mkconfig sources the file with a shell: '\$' must survive for grub.cfg, which turns it into '$'.
            var psi = new ProcessStartInfo("bash", ["-c", "GRUB_CMDLINE_LINUX='quiet'; . \"$1\"; printf %s \"$GRUB_CMDLINE_LINUX\"", "bash", dropIn])
            {
                RedirectStandardOutput = true,
            };
            using Process bash = Process.Start(psi)!;
            string value = bash.StandardOutput.ReadToEnd();
            bash.WaitForExit();
            Assert.Equal(0, bash.ExitCode);
            Assert.Equal(@"quiet memmap=256M\$0x170000000", value);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
