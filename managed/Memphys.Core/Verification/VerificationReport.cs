namespace Memphys.Verification;

/// <summary>The result of <see cref="RegionVerifier.Run(string, VerifyOptions)"/>: the options used and every check, in order.</summary>
/// <param name="DevicePath">The device.</param>
/// <param name="Info">The device's GET_INFO.</param>
/// <param name="Options">The options used.</param>
/// <param name="Checks">Every check, in the order run.</param>
/// <remarks>Immutable once returned; safe to read from any thread.</remarks>
public sealed record VerificationReport(string DevicePath, MemphysInfo Info, VerifyOptions Options, IReadOnlyList<Check> Checks)
{
    /// <summary>True when no check failed (skipped checks neither pass nor fail the report).</summary>
    public bool Passed => !Checks.Any(c => c.Failed);

    /// <summary>Checks that failed.</summary>
    public IEnumerable<Check> Failed => Checks.Where(c => c.Failed);

    /// <summary>Checks that were skipped, each with its reason in <see cref="Check.Detail"/>.</summary>
    public IEnumerable<Check> Skipped => Checks.Where(c => c.Skipped);
}
