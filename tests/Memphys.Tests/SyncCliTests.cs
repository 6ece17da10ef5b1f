using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>
/// <c>memphys sync</c> on the host: bad values are usage errors before any device is opened, a missing device is one
/// line with its exit code. What the driver answers is checked in the guest (<c>Device/SyncTests.cs</c>).
/// </summary>
[Collection("Console")]
public sealed class SyncCliTests
{
    [Theory]
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
    public void AMissingDeviceIsOneLine()
    {
        (int code, string stdout, string stderr) = CliRunner.Run(
            ["sync", "--offset", "1", "--length", "3", "--direction", "from-device", "--device", "/nonexistent/memphys0"]);
        CliRunner.AssertOneLineError(stderr);
        Assert.Equal(ExitCodes.DeviceUnavailable, code);
        Assert.Equal("", stdout);
    }

    [Theory]
    [InlineData("to-device", SyncDirection.ToDevice)]
    [InlineData("from-device", SyncDirection.FromDevice)]
    [InlineData("bidirectional", SyncDirection.Bidirectional)]
    public void DirectionsRoundTrip(string text, SyncDirection direction)
    {
        Assert.True(SyncResultNames.TryParseDirection(text, out SyncDirection parsed));
        Assert.Equal(direction, parsed);
        Assert.Equal(text, direction.ParameterName());
    }
}
