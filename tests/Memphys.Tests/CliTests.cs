using System.Text.Json.Nodes;
using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>Argument parsing, exit codes and error output of the CLI, run in-process.</summary>
[Collection("Console")]
public sealed class CliTests
{
    internal static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Theory]
    [InlineData("")]
    [InlineData("nosuchcommand")]
    [InlineData("map")]
    [InlineData("map --method sideways")]
    [InlineData("map --method fault --length 12Q")]
    [InlineData("stress --seconds abc")]
    [InlineData("info --bogus")]
    public void UsageErrorsExitTwo(string commandLine)
    {
        (int code, _, string err) = Run(commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.StartsWith("memphys: ", err);
    }

    [Fact]
    public void SemanticUsageErrorExitsTwo()
    {
        (int code, _, string err) = Run("stress", "--threads", "0", "--device", "/nonexistent/memphys0");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--threads", err);
    }

    [Fact]
    public void HelpListsCommandsAndExitCodes()
    {
        (int code, string stdout, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (string command in new[] { "info", "map", "verify", "stress", "bench" })
        {
            Assert.Contains(command, stdout);
        }

        Assert.Contains("Exit codes", stdout);
        Assert.DoesNotContain("_child", stdout);
    }

    [Theory]
    [InlineData("info")]
    [InlineData("map", "--method", "remap")]
    [InlineData("verify")]
    [InlineData("stress", "--seconds", "1")]
    [InlineData("bench")]
    public void MissingDeviceIsOneLineAndExitThree(params string[] args)
    {
        (int code, string stdout, string err) = Run([.. args, "--device", "/nonexistent/memphys0"]);
        Assert.Equal(ExitCodes.DeviceUnavailable, code);
        Assert.Equal("memphys: /nonexistent/memphys0: open: No such file or directory (ENOENT)", err.TrimEnd('\n'));
        Assert.Equal("", stdout);
    }

    [Fact]
    public void JsonErrorObjectOnStdout()
    {
        (int code, string stdout, _) = Run("info", "--json", "--device", "/nonexistent/memphys0");
        Assert.Equal(ExitCodes.DeviceUnavailable, code);
        JsonNode json = JsonNode.Parse(stdout)!;
        Assert.Equal("ENOENT", json["errno"]!.GetValue<string>());
        Assert.Equal(3, json["exitCode"]!.GetValue<int>());
    }

    /// <summary>info opens the device read-only: a file that refuses write opens (sysfs, mode 0444) gets to the ioctl.</summary>
    [Fact]
    public void InfoOpensTheDeviceReadOnly()
    {
        (int code, _, string err) = Run("info", "--device", "/sys/kernel/notes");
        Assert.Equal("memphys: /sys/kernel/notes: ioctl GET_INFO: Inappropriate ioctl for device (ENOTTY)", err.TrimEnd('\n'));
        Assert.Equal(ExitCodes.OsError, code);
    }

    [Fact]
    public void JsonKeepsPlusSignsAndUsesCamelCase()
    {
        (_, string stdout, _) = Run("map", "--method", "remap", "--json", "--device", "/nonexistent/a+b");
        Assert.Contains("/nonexistent/a+b", stdout);
        Assert.DoesNotContain("\\u002B", stdout);
        Assert.Contains("\"exitCode\"", stdout);
    }

    [Fact]
    public void OtherOsErrorExitsFour()
    {
        (int code, _, string err) = Run("info", "--device", "/dev/null");
        Assert.Equal(ExitCodes.OsError, code);
        Assert.Equal("memphys: /dev/null: ioctl GET_INFO: Inappropriate ioctl for device (ENOTTY)", err.TrimEnd('\n'));
    }

    [Theory]
    [InlineData("4096", 4096)]
    [InlineData("0x1000", 4096)]
    [InlineData("0X40000000", 1L << 30)]
    [InlineData("64K", 64 << 10)]
    [InlineData("16M", 16 << 20)]
    [InlineData("16MiB", 16 << 20)]
    [InlineData("1G", 1L << 30)]
    [InlineData("2g", 2L << 30)]
    public void ParsesSizes(string text, long expected)
    {
        Assert.True(Options.TryParseSize(text, out long value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("1X")]
    [InlineData("0x")]
    [InlineData("99999999999G")]
    [InlineData("8388608T")]
    public void RejectsBadSizes(string text) => Assert.False(Options.TryParseSize(text, out _));

    [Fact]
    public void PatternIsPositionalAndDetectsCorruption()
    {
        byte[] a = new byte[4096];
        Pattern.Fill(a, 8192, seed: 7);
        Assert.Equal(0, Pattern.Check(a, 8192, 7, out long first));
        Assert.Equal(-1, first);
        Assert.Equal(Pattern.ExpectedByte(8192 + 13, 7), a[13]);

        // The same region bytes regenerate identically from a different window start.
        byte[] b = new byte[64];
        Pattern.Fill(b, 8192 + 128, seed: 7);
        Assert.True(b.AsSpan().SequenceEqual(a.AsSpan(128, 64)));

        a[100] ^= 0xFF;
        a[200] ^= 0x01;
        Assert.Equal(2, Pattern.Check(a, 8192, 7, out first));
        Assert.Equal(8192 + 100, first);
        Assert.NotEqual(0, Pattern.Check(b, 8192 + 128, 8, out _));
    }

    [Fact]
    public void ChildStartInfoRunsTheSameCli()
    {
        var psi = Common.ChildStartInfo(["read"]);
        Assert.Equal(Environment.ProcessPath, psi.FileName);
        Assert.Equal("_child", psi.ArgumentList[^2]);
        Assert.Equal("read", psi.ArgumentList[^1]);
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            Assert.EndsWith("memphys.dll", psi.ArgumentList[0]);
        }
    }
}
