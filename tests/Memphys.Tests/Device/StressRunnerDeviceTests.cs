using Memphys.Cli;
using Memphys.Verification;

namespace Memphys.Tests.Device;

/// <summary>
/// The public stress runner (<c>memphys stress</c> as a library) on the driver: a short run finds no corruption,
/// the driver counts the runner's two mmaps (remap and fault), and a cancelled run leaves no mapping of the device
/// behind. The host half (progress, cancellation on a file) is <c>StressRunnerTests</c>.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed class StressRunnerDeviceTests
{
    private static readonly StressOptions Short = new()
    {
        Offset = 16 * 4096,
        Length = 8L << 20,
        Duration = TimeSpan.FromSeconds(1),
        Threads = 2,
        Seed = 99,
        MaxOperationSize = 16 << 10,
    };

    [DeviceFact]
    public void AShortRunOnTheDriverPassesAndReportsProgressToTheEnd()
    {
        MemphysStats before;
        using (MemphysDevice dev = DeviceEnvironment.Open())
        {
            before = dev.GetStats();
        }

        var reports = new List<StressProgress>();
        StressResult result = StressRunner.Run(DeviceEnvironment.DevicePath, Short, new SynchronousProgress<StressProgress>(reports.Add),
            TestContext.Current.CancellationToken);

        Assert.True(result.Passed, string.Join("\n", result.Corruptions));
        Assert.True(result.Operations > 0, "no operation in 1 s");
        Assert.Equal(1.0, reports[^1].Fraction);
        using MemphysDevice after = DeviceEnvironment.Open();
        Assert.Equal(2UL, after.GetStats().Since(before).MmapCalls);
        Assert.False(DeviceMapped(), "a mapping of the device outlived the run");
    }

    [DeviceFact]
    public void ACancelledRunReleasesBothMappings()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bool mappedWhileRunning = false;
        var progress = new SynchronousProgress<StressProgress>(_ =>
        {
            mappedWhileRunning = DeviceMapped();
            cancel.Cancel();
        });

        Assert.Throws<OperationCanceledException>(() =>
            StressRunner.Run(DeviceEnvironment.DevicePath, Short with { Duration = TimeSpan.FromHours(1) }, progress, cancel.Token));
        Assert.True(mappedWhileRunning, "the device was not mapped during the run");
        Assert.False(DeviceMapped(), "a mapping of the device outlived the cancelled run");
    }

    /// <summary>The CLI's stress over two processes goes through the same runner and still passes.</summary>
    [DeviceFact]
    public void TheCliRunsTheLibraryRunnerInTwoProcesses()
    {
        (int code, string stdout, string stderr) = CliRunner.Run(["stress", "--device", DeviceEnvironment.DevicePath, "--json",
            "--seconds", "1", "--threads", "1", "--processes", "2", "--length", "8M", "--seed", "5"]);
        Assert.True(code == ExitCodes.Ok, stderr + stdout);
        System.Text.Json.Nodes.JsonNode json = System.Text.Json.Nodes.JsonNode.Parse(stdout)!;
        Assert.True(json["passed"]!.GetValue<bool>());
        Assert.Equal(0, json["childFailures"]!.GetValue<int>());
        Assert.True(json["operations"]!.GetValue<long>() > 0);
    }

    private static bool DeviceMapped() =>
        File.ReadLines("/proc/self/maps").Any(l => l.EndsWith(" " + DeviceEnvironment.DevicePath, StringComparison.Ordinal));
}
