using System.Text.Json.Nodes;
using Memphys.Benchmarks;

namespace Memphys.Tests.Device;

/// <summary>
/// <c>memphys bench --json</c> against the real driver on a small range: every kind of the catalog is in the JSON,
/// either with all its figures or with the reason it cannot run; the fault counts the driver reports match the
/// touches. Speeds are never asserted.
/// </summary>
[Trait(DeviceEnvironment.Category, DeviceEnvironment.Device)]
[Collection(DeviceCollection.Name)]
public sealed class BenchDeviceTests
{
    private const long Length = 8L << 20;

    [DeviceFact]
    public void EveryKindHasFiguresOrAnUnsupportedReason()
    {
        (int code, string stdout, string err) = CliRunner.Run(
            ["bench", "--json", "--device", DeviceEnvironment.DevicePath, "--length", "8M", "--window", "2M", "-n", "2"]);
        Assert.True(code == 0, err);
        var kinds = JsonNode.Parse(stdout)!["kinds"]!.AsArray().ToDictionary(k => (string)k!["name"]!);
        Assert.Equal(BenchKind.Catalog().Select(k => k.Name), kinds.Keys);
        foreach ((string name, JsonNode? kind) in kinds)
        {
            if ((bool)kind!["supported"]!)
            {
                Assert.All(Metric.All, m => Assert.Equal(2, kind["figures"]![m]!["samples"]!.AsArray().Count));
            }
            else
            {
                Assert.False(string.IsNullOrWhiteSpace((string?)kind["unsupported"]), name);
            }
        }

        // memphys is loaded: the remap and 4 KiB fault kinds run, /dev/mem over its range is refused (EPERM).
        Assert.True((bool)kinds["remap"]!["supported"]!);
        Assert.True((bool)kinds["fault-4k"]!["supported"]!);
        Assert.Contains("EPERM", (string)kinds["devmem"]!["unsupported"]!);

        // The first touch of 4 KiB pages takes one PTE fault per page (fault-4k has fault-around off); remap takes none.
        Assert.Equal((ulong)(Length / DeviceSupport.Page), (ulong)kinds["fault-4k"]!["faults4k"]!["pteFaults"]!);
        Assert.Equal(Length / (2L << 20), (long)kinds["fault-4k"]!["faults2m"]!["pteFaults"]!);
        Assert.Equal(0UL, (ulong)kinds["remap"]!["faults4k"]!["pteFaults"]!);

        // With fault-around, every page is mapped either by its own fault or as a neighbour of one.
        JsonNode around = kinds[BenchKind.FaultAround]!["faults4k"]!;
        Assert.Equal((ulong)(Length / DeviceSupport.Page), (ulong)around["pteFaults"]! + (ulong)around["prefaulted"]!);
    }
}
