using System.Text.Json.Nodes;
using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>
/// A CLI that never surprises: every option checked before any work, a JSON error object for every failure with
/// --json (parse errors included), one-line messages, file errors in the OS-error category, Ctrl-C as exit 130,
/// and help without sentinel defaults. Each case failed before its fix.
/// </summary>
[Collection("Console")]
public sealed class CliPromiseTests
{
    private const string Missing = "/nonexistent/memphys0";

    [Theory]
    [InlineData("map", "--method", "sideways", "--json")]
    [InlineData("stress", "--seconds", "abc", "--json")]
    [InlineData("--json", "nosuchcommand")]
    [InlineData("verify", "--seed", "-1", "--json")]
    public void ParseErrorsGiveAJsonErrorObject(params string[] args)
    {
        (int code, string stdout, string stderr) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        JsonNode json = JsonNode.Parse(stdout)!;
        Assert.Equal(ExitCodes.Usage, json["exitCode"]!.GetValue<int>());
        Assert.False(string.IsNullOrWhiteSpace(json["error"]!.GetValue<string>()));
        CliRunner.AssertOneLineError(stderr);
    }

    [Theory]
    [InlineData("map", "--method", "remap", "--device", "")]
    [InlineData("verify", "-d", " ")]
    [InlineData("info", "--device", "")]
    public void AnEmptyDeviceIsAUsageError(params string[] args)
    {
        (int code, _, string stderr) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is empty", stderr, StringComparison.Ordinal);
        CliRunner.AssertOneLineError(stderr);
    }

    [Theory]
    [InlineData("map", "-m", "bogus")]
    [InlineData("map", "-m", "remap", "--caching", "xx")]
    [InlineData("dma-check", "--vfio", "0000:00:04.0", "-m", "bogus")]
    public void AnUnknownChoiceIsOneLine(params string[] args)
    {
        (int code, _, string stderr) = CliRunner.Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.DoesNotContain('\t', stderr);
        CliRunner.AssertOneLineError(stderr);
        Assert.Contains("is not one of", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void ANegativeSeedIsAReadableUsageError()
    {
        (int code, _, string stderr) = CliRunner.Run(["verify", "--seed", "-1", "--device", Missing]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("memphys: --seed '-1' must be a whole number", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("verify", "--length", "--seed")]
    [InlineData("map", "--length")]
    [InlineData("stress", "--length", "--seed")]
    [InlineData("bench", "--length")]
    [InlineData("dma-check", "--length", "--iova", "--seed")]
    [InlineData("memmap", "--align")]
    public void HelpShowsNoSentinelDefaults(string command, params string[] options)
    {
        (int code, string stdout, _) = CliRunner.Run([command, "--help"]);
        Assert.Equal(ExitCodes.Ok, code);
        foreach (string option in options)
        {
            string line = Assert.Single(stdout.Split('\n'), l => l.TrimStart().StartsWith(option + " ", StringComparison.Ordinal)
                || l.Contains(", " + option + " ", StringComparison.Ordinal));
            Assert.DoesNotContain("[default:", line, StringComparison.Ordinal);
        }
    }

    /// <summary>--include and --chart used to be read and written only after every kind was measured.</summary>
    [Fact]
    public void BenchChecksItsFilesBeforeMeasuring()
    {
        // The device is missing: had bench measured first, it would exit 3 on the device, not on the file.
        (int code, string stdout, string stderr) = CliRunner.Run(["bench", "--device", Missing, "--include", "/nonexistent/run.json", "--json"]);
        Assert.Equal(ExitCodes.OsError, code);
        Assert.Equal("ENOENT", JsonNode.Parse(stdout)!["errno"]!.GetValue<string>());
        CliRunner.AssertOneLineError(stderr);

        (code, _, stderr) = CliRunner.Run(["bench", "--device", Missing, "--chart", "/nonexistent/folder/chart.svg"]);
        Assert.Equal(ExitCodes.OsError, code);
        Assert.Contains("--chart /nonexistent/folder/chart.svg", stderr, StringComparison.Ordinal);

        (code, _, stderr) = CliRunner.Run(["bench", "--device", Missing, "--chart", Path.GetTempPath()]);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("is a directory", stderr, StringComparison.Ordinal);

        string notJson = Path.GetTempFileName();
        try
        {
            File.WriteAllText(notJson, "not json");
            (code, _, stderr) = CliRunner.Run(["bench", "--device", Missing, "--include", notJson]);
            Assert.Equal(ExitCodes.Usage, code);
            CliRunner.AssertOneLineError(stderr);
        }
        finally
        {
            File.Delete(notJson);
        }
    }

    /// <summary>A file the user named is not the device: its errors are OS errors (4), not "device unavailable" (3).</summary>
    [Fact]
    public void AFileErrorIsAnOsErrorNotADeviceError()
    {
        (int code, string stdout, string stderr) = CliRunner.Run(["memmap", "--size", "1G", "--iomem", "/nonexistent/iomem", "--json"]);
        Assert.Equal(ExitCodes.OsError, code);
        Assert.Equal(ExitCodes.OsError, JsonNode.Parse(stdout)!["exitCode"]!.GetValue<int>());
        CliRunner.AssertOneLineError(stderr);
    }

    [Fact]
    public void CtrlCExitsWith130AndOneLine()
    {
        using var interrupt = new CancellationTokenSource();
        interrupt.Cancel();
        (int code, string stdout, string stderr) = CliRunner.Run(["info", "--device", "/dev/null", "--json"], interrupt.Token);
        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Equal(130, code);
        Assert.Equal(130, JsonNode.Parse(stdout)!["exitCode"]!.GetValue<int>());
        CliRunner.AssertOneLineError(stderr);
    }

    /// <summary>One case per exit code a host can reach (1 needs the device: ToolkitTests; 5 and 6: CliErrorTests).</summary>
    [Theory]
    [InlineData(ExitCodes.Ok, "memmap", "--help")]
    [InlineData(ExitCodes.Usage, "map", "--method", "sideways")]
    [InlineData(ExitCodes.DeviceUnavailable, "info", "--device", Missing)]
    [InlineData(ExitCodes.OsError, "info", "--device", "/dev/null")]
    public void EachExitCode(int expected, params string[] args) => Assert.Equal(expected, CliRunner.Run(args).Code);
}
