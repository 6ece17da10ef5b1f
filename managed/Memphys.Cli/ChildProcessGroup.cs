using System.Diagnostics;

namespace Memphys.Cli;

/// <summary>
/// Child processes started together. <see cref="WaitAll"/> collects their output; <see cref="Dispose"/> kills
/// (with their own children) every one still running, so that no child outlives a failed parent.
/// </summary>
internal sealed class ChildProcessGroup : IDisposable
{
    private readonly List<(Process Process, Task<string> Stdout, Task<string> Stderr)> _children = [];

    /// <summary>The process ids, in start order.</summary>
    public IReadOnlyList<int> Ids => _children.Select(c => c.Process.Id).ToList();

    /// <summary>Starts a child with both output streams captured.</summary>
    public void Start(ProcessStartInfo psi)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        Process process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {psi.FileName}");
        _children.Add((process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync()));
    }

    /// <summary>Waits for every child to exit; their results in start order.</summary>
    public IReadOnlyList<ProcessResult> WaitAll()
    {
        var results = new List<ProcessResult>(_children.Count);
        foreach ((Process process, Task<string> stdout, Task<string> stderr) in _children)
        {
            process.WaitForExit();
            results.Add(new ProcessResult(process.ExitCode, stdout.Result, stderr.Result));
        }

        return results;
    }

    /// <summary>Kills every child still running and releases them.</summary>
    public void Dispose()
    {
        foreach ((Process process, _, _) in _children)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit();
                }
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
            }

            process.Dispose();
        }

        _children.Clear();
    }
}
