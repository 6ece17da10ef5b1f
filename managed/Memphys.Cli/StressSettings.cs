namespace Memphys.Cli;

/// <summary>What one stress process runs: the range, the duration, its share of the workers, the seed.</summary>
internal sealed record StressSettings(string Path, long Offset, long Length, double Seconds, int Threads, int Processes,
    int ProcessIndex, ulong Seed, long MaxOp, uint FaultAround)
{
    /// <summary>The arguments of <c>_child stress</c> for process <paramref name="index"/>.</summary>
    public string[] ChildArguments(int index) =>
    [
        "--device", Path, "--offset", Common.Inv(Offset), "--length", Common.Inv(Length),
        "--seconds", Seconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        "--threads", Common.Inv(Threads), "--processes", Common.Inv(Processes), "--process-index", Common.Inv(index),
        "--seed", Common.Inv(Seed), "--max-op", Common.Inv(MaxOp),
        .. FaultAround != 0 ? new[] { "--fault-around", Common.Inv(FaultAround) } : [],
    ];
}
