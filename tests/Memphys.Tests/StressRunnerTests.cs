using Memphys.Verification;

namespace Memphys.Tests;

/// <summary>
/// The stress runner as a library (it was the CLI's own, with no token and no progress), on the host: the runner
/// maps a plain file twice (as it maps the device once per method) and writes and reads it back through both
/// mappings and pwrite/pread. Only the ioctls that select the methods are left out (a file takes none); the
/// device tests run it on the driver.
/// </summary>
public sealed class StressRunnerTests : IDisposable
{
    private const long Length = 1 << 20;

    private static readonly Action<MemphysDevice, MappingMethod, StressOptions> NoIoctls = (_, _, _) => { };

    private readonly string _dir = Directory.CreateTempSubdirectory("memphys-stress-").FullName;

    private readonly string _file;

    public StressRunnerTests()
    {
        _file = Path.Combine(_dir, "region");
        using FileStream f = File.Create(_file);
        f.SetLength(Length);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ARunReportsProgressUpToTheEndAndFindsNoCorruption()
    {
        var reports = new List<StressProgress>();
        StressResult result = StressRunner.RunWith(_file, Options(TimeSpan.FromMilliseconds(600)), NoIoctls,
            new SynchronousProgress<StressProgress>(reports.Add), TestContext.Current.CancellationToken);

        Assert.True(result.Passed, string.Join("; ", result.Corruptions));
        Assert.Equal(0, result.CorruptBytes);
        Assert.True(result.Operations > 0);
        Assert.True(result.Bytes >= 8 * result.Operations);
        Assert.NotEmpty(reports);
        Assert.Equal(1.0, reports[^1].Fraction); // the last report comes after the workers ran their whole duration
        Assert.All(reports.Zip(reports.Skip(1)), pair => Assert.True(pair.First.Elapsed <= pair.Second.Elapsed));
        Assert.False(IsMapped(_file));
    }

    [Fact]
    public void CancellingStopsTheWorkersAndReleasesBothMappings()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        bool mappedWhileRunning = false;
        var progress = new SynchronousProgress<StressProgress>(_ =>
        {
            mappedWhileRunning = IsMapped(_file);
            cancel.Cancel(); // at the first report, about 250 ms into a run of an hour
        });

        Assert.Throws<OperationCanceledException>(() =>
            StressRunner.RunWith(_file, Options(TimeSpan.FromHours(1)), NoIoctls, progress, cancel.Token));
        Assert.True(mappedWhileRunning);
        Assert.False(IsMapped(_file));
    }

    [Fact]
    public void ACancelledTokenStopsBeforeAnythingIsOpened()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Throws<OperationCanceledException>(() => StressRunner.Run("/nonexistent/memphys0", new StressOptions(), null, cancel.Token));
    }

    [Fact]
    public void OptionsOutOfRangeAreRefusedBeforeAnythingIsOpened()
    {
        const string missing = "/nonexistent/memphys0";
        StressOptions ok = Options(TimeSpan.Zero);
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { Length = 0 }, null, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { Offset = -4096 }, null, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { Threads = 0 }, null, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { ProcessIndex = 2, Processes = 2 }, null, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { MaxOperationSize = 12 }, null, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { Duration = TimeSpan.FromSeconds(-1) }, null, Token));
        Assert.Throws<ArgumentOutOfRangeException>(() => StressRunner.Run(missing, ok with { Length = 64, Threads = 16 }, null, Token));
        Assert.Throws<MemphysException>(() => StressRunner.Run(missing, ok, null, Token)); // valid options: now it opens
    }

    /// <summary>On a file that is no memphys device, the public runner fails at its first ioctl with the errno.</summary>
    [Fact]
    public void APlainFileIsRefusedAtTheFirstIoctl()
    {
        var e = Assert.Throws<MemphysException>(() => StressRunner.Run(_file, Options(TimeSpan.Zero), null, Token));
        Assert.Equal("ENOTTY", ((IMemphysError)e).ErrnoName);
        Assert.False(IsMapped(_file));
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static StressOptions Options(TimeSpan duration) => new()
    {
        Length = Length,
        Duration = duration,
        Threads = 2,
        Seed = 7,
        MaxOperationSize = 4096,
    };

    private static bool IsMapped(string path) => File.ReadLines("/proc/self/maps").Any(l => l.EndsWith(" " + path, StringComparison.Ordinal));
}
