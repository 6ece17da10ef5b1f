namespace Memphys.Verification;

/// <summary>Progress of <see cref="RegionVerifier.Run(string, VerifyOptions, IProgress{VerifyProgress}?, CancellationToken)"/>.</summary>
/// <param name="Phase">What is being done, e.g. <c>writing the pattern (remap)</c>.</param>
/// <param name="Fraction">How much of that phase is done, from 0 to 1.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct VerifyProgress(string Phase, double Fraction);
