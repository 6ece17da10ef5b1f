namespace Memphys;

/// <summary>What a finished child process printed and how it ended (<see cref="ProcessRunner"/>).</summary>
/// <param name="ExitCode">The exit status.</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error.</param>
internal readonly record struct ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Standard output followed by standard error.</summary>
    public string Output => Stdout + Stderr;
}
