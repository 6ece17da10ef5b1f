namespace Memphys.Verification;

/// <summary>Progress of <see cref="StressRunner.Run"/>, reported about four times a second.</summary>
/// <param name="Elapsed">Time the workers have run.</param>
/// <param name="Duration">Time they run in all (<see cref="StressOptions.Duration"/>).</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct StressProgress(TimeSpan Elapsed, TimeSpan Duration)
{
    /// <summary>How much of the run is done, from 0 to 1.</summary>
    public double Fraction => Duration <= TimeSpan.Zero ? 1 : Math.Clamp(Elapsed / Duration, 0, 1);
}
