using Memphys.Cli;

namespace Memphys.Tests;

/// <summary>Runs the CLI in-process through its real entry point and captures what it prints.</summary>
internal static class CliRunner
{
    public static (int Code, string Out, string Err) Run(string[] args, bool is64BitProcess = true) =>
        Run(args, CancellationToken.None, is64BitProcess);

    /// <summary>Runs with <paramref name="interrupt"/> as the Ctrl-C token.</summary>
    public static (int Code, string Out, string Err) Run(string[] args, CancellationToken interrupt, bool is64BitProcess = true)
    {
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = Program.Run(args, is64BitProcess, interrupt);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    public static (int Code, string Err) CaptureStderr(Func<int> body)
    {
        TextWriter oldErr = Console.Error;
        var stderr = new StringWriter();
        Console.SetError(stderr);
        try
        {
            return (body(), stderr.ToString());
        }
        finally
        {
            Console.SetError(oldErr);
        }
    }

    /// <summary>Exactly one line, prefixed <c>memphys: </c>, and no stack trace.</summary>
    public static void AssertOneLineError(string stderr)
    {
        string[] lines = stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length <= 2 && stderr.StartsWith("memphys: ", StringComparison.Ordinal), $"expected one error line, got:\n{stderr}");
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Exception", stderr);
    }
}
