using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>
/// <c>memphys sync</c> on the host: a missing device is one line with its exit code (its usage errors are cases of
/// <see cref="CliErrorTests"/>). What the driver answers is checked in the guest (<c>Device/SyncTests.cs</c>).
/// </summary>
[Collection("Console")]
public sealed class SyncCliTests
{
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
