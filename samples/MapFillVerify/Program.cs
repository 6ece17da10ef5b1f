// The shortest real program against the Memphys.Core package: open the device, map 1 GiB (or the whole region if
// it is smaller), fill it with the seeded pattern, verify it, print the throughput. Ctrl-C stops it cleanly.
//   dotnet run -- [/dev/memphysN]
using System.Diagnostics;
using Memphys;
using Memphys.Verification;

string path = args.Length > 0 ? args[0] : MemphysDevice.DefaultPath;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
try
{
    using MemphysDevice device = MemphysDevice.Open(path);
    MemphysInfo info = device.GetInfo();
    long length = Math.Min(1L << 30, info.RegionSize);
    device.SetMethod(MappingMethod.Remap);
    using MemphysMapping map = device.Map(0, length);

    const ulong seed = 42;
    var clock = Stopwatch.StartNew();
    PatternVerifier.Fill(map, seed, cancellationToken: cancel.Token);
    double fill = clock.Elapsed.TotalSeconds;
    clock.Restart();
    var check = new Check($"pattern over {MemphysDevice.FormatSize(length)}");
    PatternVerifier.Compare(check, map, seed, cancellationToken: cancel.Token);
    double verify = clock.Elapsed.TotalSeconds;

    double mib = length / (double)(1 << 20);
    Console.WriteLine($"{path}: {check}");
    Console.WriteLine($"fill {mib / fill:F0} MiB/s, verify {mib / verify:F0} MiB/s");
    return check.Passed ? 0 : 1;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("interrupted");
    return 130;
}
catch (Exception e) when (e is IMemphysError error)
{
    // One line with the errno: IOException, UnauthorizedAccessException or ArgumentException.
    Console.Error.WriteLine($"{e.Message} [{error.ErrnoName}]");
    return 2;
}
