using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>
/// Bad command lines through the CLI's real entry point (<see cref="Program.Run(string[])"/>): each one is
/// refused where it is parsed, with one line on stderr, exit code 2 and never a stack trace.
/// </summary>
[Collection("Console")]
public sealed class CliErrorTests
{
    [Theory]
    [InlineData("stress --seconds Infinity")]
    [InlineData("stress --seconds NaN")]
    [InlineData("stress --seconds -1")]
    [InlineData("stress --seconds 1e300")]
    [InlineData("stress -t 65536 -p 65536")]
    [InlineData("stress --threads 0")]
    [InlineData("stress --processes 100000")]
    [InlineData("stress --max-op 4")]
    [InlineData("stress --max-op 64G")]
    [InlineData("map --method fault --max-fault 3M")]
    [InlineData("map --method fault --max-fault 0")]
    [InlineData("map --method fault --fault-around 0")]
    [InlineData("map --method fault --fault-around 3")]
    [InlineData("map --method fault --fault-around 1024")]
    [InlineData("map --method fault --fault-around 16K")]
    [InlineData("verify --fault-around -1")]
    [InlineData("stress --fault-around 4294967296")]
    [InlineData("map --method remap --offset 100")]
    [InlineData("map --method remap --length 4097")]
    [InlineData("map --method remap --length 0x7fffffffffffffff")]
    [InlineData("verify --length 1G --offset 0x7ffffffffffff000")]
    [InlineData("bench --iterations 0")]
    [InlineData("bench --iterations 2147483647")]
    [InlineData("dma-check")]
    [InlineData("dma-check --vfio 00:04.0")]
    [InlineData("dma-check --vfio 0000:00:04.0:1")]
    [InlineData("dma-check --vfio 0000:00:04.0 --iova 0x1001")]
    [InlineData("dma-check --vfio 0000:00:04.0 --length 4097")]
    [InlineData("sync --length 0")]
    [InlineData("sync --length -1")]
    [InlineData("sync --offset x")]
    [InlineData("sync --offset 0x7fffffffffffffff")]
    [InlineData("sync --direction sideways")]
    [InlineData("sync --direction ToDevice")]
    public void IsAUsageErrorOnOneLine(string commandLine)
    {
        (int code, string stdout, string stderr) = CliRunner.Run([.. commandLine.Split(' '), "--device", "/nonexistent/memphys0"]);
        CliRunner.AssertOneLineError(stderr);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
    }

    [Fact]
    public void AnUnexpectedExceptionIsOneLineWithItsOwnExitCode()
    {
        (int code, string stderr) = CliRunner.CaptureStderr(() =>
            Program.Guard(json: false, _ => throw new NullReferenceException("boom")));
        Assert.Equal(ExitCodes.InternalError, code);
        CliRunner.AssertOneLineError(stderr);
        Assert.Contains("internal error", stderr);
        Assert.Contains("boom", stderr);
    }

    [Fact]
    public void ExitCodesAreDistinctAndDocumented()
    {
        int[] codes = [ExitCodes.Ok, ExitCodes.CheckFailed, ExitCodes.Usage, ExitCodes.DeviceUnavailable, ExitCodes.OsError,
            ExitCodes.InternalError, ExitCodes.Unsupported];
        Assert.Equal(codes.Length, codes.Distinct().Count());
        foreach (int code in codes.Skip(1))
        {
            Assert.Contains($"{code} ", ExitCodes.HelpText);
        }
    }

    [Fact]
    public void A32BitProcessIsRefusedWithOneLine()
    {
        (int code, string stdout, string stderr) = CliRunner.Run(["info"], is64BitProcess: false);
        Assert.Equal(ExitCodes.Unsupported, code);
        Assert.Equal("", stdout);
        CliRunner.AssertOneLineError(stderr);
        Assert.Contains("64-bit", stderr);
    }
}
