using System.Diagnostics;

namespace Memphys;

/// <summary>
/// Runs a child process to completion and captures what it printed: the one way the CLI (the second-process
/// checks of <c>verify</c>, the workers of <c>stress</c>) and the tests (native helper programs) start a process.
/// Standard error is read concurrently with standard output, so a child that fills either pipe cannot block.
/// </summary>
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
