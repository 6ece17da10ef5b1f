using System.CommandLine;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>Entry point and command-line definition of <c>memphys</c>.</summary>
internal static class Program
{
    private static readonly AsyncLocal<CancellationToken> s_cancellation = new();

    /// <summary>Cancelled by Ctrl-C (SIGINT): long commands stop, release their mappings and exit with 130.</summary>
    internal static CancellationToken Cancellation => s_cancellation.Value;

    public static int Main(string[] args)
    {
        using var interrupt = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C cancels cleanly; a second one ends the process at once, as usual.
            e.Cancel = !interrupt.IsCancellationRequested;
            interrupt.Cancel();
        };
        return Run(args, Environment.Is64BitProcess, interrupt.Token);
    }

    /// <summary>Parses and runs; never throws, always returns an exit code from <see cref="ExitCodes"/>.</summary>
    public static int Run(string[] args) => Run(args, Environment.Is64BitProcess);

    /// <inheritdoc cref="Run(string[])"/>
    /// <param name="args">The command line.</param>
    /// <param name="is64BitProcess">Whether this process is 64-bit (a parameter so that the refusal can be tested).</param>
    internal static int Run(string[] args, bool is64BitProcess) => Run(args, is64BitProcess, CancellationToken.None);

    /// <inheritdoc cref="Run(string[], bool)"/>
    /// <param name="args">The command line.</param>
    /// <param name="is64BitProcess">Whether this process is 64-bit.</param>
    /// <param name="cancellationToken">Ctrl-C: long commands stop and the exit code is 130.</param>
    internal static int Run(string[] args, bool is64BitProcess, CancellationToken cancellationToken)
    {
        // --json anywhere asks for a JSON error object on every failure, parse errors included.
        var output = new Output(json: args.Contains("--json"));
        if (Platform.UnsupportedReason(is64BitProcess) is { } reason)
        {
            return Fail(output, reason, ExitCodes.Unsupported, null);
        }

        s_cancellation.Value = cancellationToken;
        try
        {
            ParseResult parse = BuildRoot().Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
            {
                // One line: the first error (each names its option), then where to look.
                int code = Fail(output, parse.Errors[0].Message, ExitCodes.Usage, null);
                Console.Error.WriteLine("Try 'memphys --help'.");
                return code;
            }

            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            // Commands run inside Guard; this catches what escapes parsing or System.CommandLine itself.
            return Fail(output, $"internal error: {ex.Message}", ExitCodes.InternalError, null);
        }
        finally
        {
            s_cancellation.Value = default;
        }
    }

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "memphys: drive and check the memphys physical-memory driver (/dev/memphysN).\n" + ExitCodes.HelpText);
        root.Subcommands.Add(InfoCommand.Build());
        root.Subcommands.Add(MapCommand.Build());
        root.Subcommands.Add(VerifyCommand.Build());
        root.Subcommands.Add(DmaCheckCommand.Build());
        root.Subcommands.Add(DmaBufCommand.Build());
        root.Subcommands.Add(StressCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(MemmapCommand.Build());
        root.Subcommands.Add(SyncCommand.Build());
        root.Subcommands.Add(KexecArgsCommand.Build());
        root.Subcommands.Add(ChildCommand.Build());
        return root;
    }

    /// <summary>
    /// Runs a command body, turning every failure into one readable line on stderr (and a JSON error object
    /// on stdout with --json) and the matching exit code: no exception leaves, no stack trace is printed.
    /// </summary>
    internal static int Guard(bool json, Func<Output, int> body)
    {
        var output = new Output(json);
        try
        {
            Cancellation.ThrowIfCancellationRequested();
            return body(output);
        }
        catch (OperationCanceledException)
        {
            // Every mapping and device was released by the using blocks the exception left.
            return Fail(output, "interrupted (Ctrl-C): stopped, mappings released", ExitCodes.Interrupted, "EINTR");
        }
        catch (Exception ex) when (ex is IMemphysError error)
        {
            // The device's errors (open, ioctl, mmap): missing or not allowed is 3, anything else 4.
            int code = MemphysException.IsAccessErrno(error.Errno) ? ExitCodes.DeviceUnavailable : ExitCodes.OsError;
            return Fail(output, ex.Message, code, error.ErrnoName);
        }
        catch (UsageException ex)
        {
            return Fail(output, ex.Message, ExitCodes.Usage, null);
        }
        catch (UnauthorizedAccessException ex)
        {
            // A file the user named (--include, --chart, --iomem...), not the device: an OS error.
            return Fail(output, ex.Message, ExitCodes.OsError, "EACCES");
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Fail(output, ex.Message, ExitCodes.OsError, "ENOENT");
        }
        catch (PlatformNotSupportedException ex)
        {
            return Fail(output, ex.Message, ExitCodes.Unsupported, null);
        }
        catch (IOException ex)
        {
            return Fail(output, ex.Message, ExitCodes.OsError, null);
        }
        catch (Exception ex)
        {
            return Fail(output, $"internal error: {ex.Message}", ExitCodes.InternalError, null);
        }
    }

    private static int Fail(Output output, string message, int code, string? errno)
    {
        string line = message.ReplaceLineEndings(" ");
        Console.Error.WriteLine($"memphys: {line}");
        if (output.Json)
        {
            output.WriteJson(new JsonObject { ["error"] = line, ["errno"] = errno, ["exitCode"] = code });
        }

        return code;
    }
}
