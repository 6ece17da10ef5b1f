using System.Diagnostics;

namespace Memphys;

/// <summary>What a finished child process printed and how it ended.</summary>
/// <param name="ExitCode">The exit status.</param>
/// <param name="Stdout">Everything written to standard output.</param>
/// <param name="Stderr">Everything written to standard error.</param>
internal readonly record struct ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    /// <summary>Standard output followed by standard error.</summary>
    public string Output => Stdout + Stderr;
}

/// <summary>The one way memphys code (CLI and tests) runs a child process to completion.</summary>
internal static class ProcessRunner
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>, capturing both output streams.</summary>
    public static ProcessResult Run(string file, IEnumerable<string> args) => Run(StartInfo(file, args));

    /// <summary>Runs a prepared start info; standard output and error are redirected and captured.</summary>
    public static ProcessResult Run(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using Process process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {psi.FileName}");
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout, stderr.Result);
    }

    /// <summary>A start info for <paramref name="file"/> with each of <paramref name="args"/> as one argument.</summary>
    public static ProcessStartInfo StartInfo(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        return psi;
    }
}
