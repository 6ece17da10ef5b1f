using System.Text.Json.Nodes;
using Memphys.Cli;
using Memphys.Persistence;

namespace Memphys.Tests;

/// <summary><c>memphys kexec-args</c> and <see cref="KexecPlan"/> on command lines and sysfs trees written here.</summary>
[Collection("Console")]
public sealed class KexecArgsCommandTests : IDisposable
{
    private const string GuestCmdline =
        "BOOT_IMAGE=/vmlinuz-6.1.0-56-amd64 console=ttyS0 panic=-1 memmap=64M$0x100000000 memmap=64M$0x110000000 initrd=/initrd.img quiet";

    private readonly string _dir = Directory.CreateTempSubdirectory("memphys-kexec-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Cmdline(string text)
    {
        string path = Path.Combine(_dir, "cmdline");
        File.WriteAllText(path, text + "\n");
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(["kexec-args", .. args]);

    private (int Code, string Out, string Err) RunGuest(params string[] args) =>
        Run(["--kernel", "/boot/vmlinuz-test", "--initrd", "/boot/initrd-test", "--cmdline", Cmdline(GuestCmdline), .. args]);

    [Fact]
    public void KeepsTheCommandLineAndItsMemmapRanges()
    {
        (int code, string stdout, string stderr) = RunGuest("--regions", "64M@0x100000000,64M@0x110000000:wc", "--append", "memphys_vm.phase=2");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        const string append = "console=ttyS0 panic=-1 memmap=64M$0x100000000 memmap=64M$0x110000000 quiet memphys_vm.phase=2";
        Assert.Contains($"kexec -s -l /boot/vmlinuz-test --initrd=/boot/initrd-test --append='{append}'", stdout);
        Assert.Contains($"kexec -l /boot/vmlinuz-test --initrd=/boot/initrd-test --mem-max=0xffffffff --append='{append}'", stdout);
        Assert.Matches(@"memmap= added +none \(the command line reserves every region\)", stdout);
        Assert.Contains("warning: never 'kexec -l' without --mem-max=0xffffffff", stdout);
        Assert.DoesNotContain("BOOT_IMAGE", stdout);
        Assert.DoesNotContain("initrd=/initrd.img", stdout);
        Assert.DoesNotContain("KASLR", stdout);
    }

    [Fact]
    public void AddsMemmapForALoadedRegionTheCommandLineLacks()
    {
        string sysfs = Path.Combine(_dir, "misc");
        foreach ((string name, string phys, string size) in new[] { ("memphys0", "0x100000000", "67108864"), ("memphys1", "0x80000000", "2097152") })
        {
            Directory.CreateDirectory(Path.Combine(sysfs, name));
            File.WriteAllText(Path.Combine(sysfs, name, "phys_base"), phys + "\n");
            File.WriteAllText(Path.Combine(sysfs, name, "size"), size + "\n");
        }

        (int code, string stdout, _) = RunGuest("--sysfs", sysfs, "--json");
        Assert.Equal(ExitCodes.Ok, code);
        JsonNode json = JsonNode.Parse(stdout)!;
        Assert.Equal(["memmap=2M$0x80000000"], json["added"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.EndsWith("quiet memmap=2M$0x80000000", json["append"]!.GetValue<string>());
        Assert.Equal(0x7fffffffUL, json["memMax"]!.GetValue<ulong>());
        Assert.Equal(3, json["kept"]!.AsArray().Count);
        Assert.Contains("--mem-max=0x7fffffff", json["loadCommand"]!.GetValue<string>());
        Assert.StartsWith("kexec -s -l ", json["fileLoadCommand"]!.GetValue<string>());
    }

    [Fact]
    public void WarnsAboutMoreMemmapRangesThanKaslrAvoids()
    {
        string five = string.Join(' ', Enumerable.Range(0, 5).Select(i => $"memmap=16M$0x{0x100000000 + (i * 0x2000000):x}"));
        (int code, string stdout, _) = Run("--kernel", "k", "--initrd", "none", "--cmdline", Cmdline(five), "--regions", "16M@0x100000000");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("warning: 5 memmap= ranges: the KASLR decompressor avoids at most 4", stdout);
        Assert.Matches(@"initrd +none", stdout);
        Assert.DoesNotContain("--initrd=", stdout);

        (_, stdout, _) = Run("--kernel", "k", "--initrd", "none", "--cmdline", Cmdline(five + " nokaslr"), "--regions", "16M@0x100000000");
        Assert.DoesNotContain("KASLR", stdout);
    }

    [Fact]
    public void NothingReservedIsSaid()
    {
        (int code, string stdout, _) = Run("--kernel", "k", "--initrd", "none", "--cmdline", Cmdline("console=ttyS0"), "--sysfs", _dir);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("warning: no memmap= on the command line and no memphys region given", stdout);
        Assert.DoesNotContain("--mem-max=", stdout);
    }

    [Theory]
    [InlineData("1G")]
    [InlineData("1G@")]
    [InlineData("0@0x100000000")]
    [InlineData("1G@zz")]
    [InlineData(",")]
    public void BadRegionsAreUsageErrors(string regions)
    {
        (int code, _, string stderr) = RunGuest("--regions", regions);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("memphys: --regions: ", stderr);
    }

    [Fact]
    public void AMissingCmdlineFileIsOneLine()
    {
        (int code, _, string stderr) = Run("--cmdline", Path.Combine(_dir, "absent"), "--regions", "1G@0x100000000");
        Assert.NotEqual(ExitCodes.Ok, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.StartsWith("memphys: ", stderr);
    }

    [Theory]
    [InlineData("simple/path-1.2", "simple/path-1.2")]
    [InlineData("memmap=1G$0x1", "'memmap=1G$0x1'")]
    [InlineData("it's", @"'it'\''s'")]
    [InlineData("", "''")]
    public void QuotesForAShell(string word, string quoted) => Assert.Equal(quoted, KexecPlan.Quote(word));

    [Fact]
    public void APartlyReservedRegionIsAddedWithAWarning()
    {
        KexecPlan plan = KexecPlan.Create("k", null, "memmap=32M$0x100000000", [PhysicalRange.FromSize(0x100000000, 64 << 20)]);
        Assert.Equal(["memmap=64M$0x100000000"], plan.Added);
        Assert.Contains(plan.Warnings, w => w.Contains("only partly inside", StringComparison.Ordinal));
        Assert.Contains(plan.Warnings, w => w.StartsWith("kexec keeps RAM only", StringComparison.Ordinal));
    }
}
