using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>stress starts its child processes in a <see cref="ChildProcessGroup"/>: none outlives a failure.</summary>
public sealed class ChildProcessGroupTests
{
    [Fact]
    public void DisposeKillsChildrenStillRunningWhenTheParentFails()
    {
        int pid = 0;
        Action failingParent = () =>
        {
            using var group = new ChildProcessGroup();
            group.Start(ProcessRunner.StartInfo("sleep", ["600"]));
            pid = group.Ids[0];
            throw new InvalidOperationException("the parent's own workers failed");
        };
        Assert.Throws<InvalidOperationException>(failingParent);
        Assert.NotEqual(0, pid);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"child {pid} still runs after the group was disposed");
    }

    [Fact]
    public void WaitAllCollectsOutputInStartOrder()
    {
        using var group = new ChildProcessGroup();
        group.Start(ProcessRunner.StartInfo("sh", ["-c", "echo one; exit 3"]));
        group.Start(ProcessRunner.StartInfo("sh", ["-c", "echo two >&2"]));
        IReadOnlyList<ProcessResult> results = group.WaitAll();
        Assert.Equal(new ProcessResult(3, "one\n", ""), results[0]);
        Assert.Equal(new ProcessResult(0, "", "two\n"), results[1]);
    }
}
