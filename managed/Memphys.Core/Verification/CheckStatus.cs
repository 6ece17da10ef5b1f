namespace Memphys.Verification;

/// <summary>Outcome of a <see cref="Check"/>.</summary>
public enum CheckStatus
{
    /// <summary>Every expectation held.</summary>
    Passed,

    /// <summary>At least one expectation failed.</summary>
    Failed,

    /// <summary>Not run here (the reason is in <see cref="Check.Detail"/>).</summary>
    Skipped,
}
