namespace Memphys.Verification;

/// <summary>The result of <see cref="RegionVerifier.Run"/>: the options used and every check, in order.</summary>
/// <param name="DevicePath">The device.</param>
/// <param name="Info">The device's GET_INFO.</param>
/// <param name="Options">The options used.</param>
/// <param name="Checks">Every check, in the order run.</param>
public sealed record VerificationReport(string DevicePath, MemphysInfo Info, VerifyOptions Options, IReadOnlyList<Check> Checks)
{
    /// <summary>True when no check failed.</summary>
    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>Checks that failed.</summary>
    public IEnumerable<Check> Failed => Checks.Where(c => !c.Passed);
}
