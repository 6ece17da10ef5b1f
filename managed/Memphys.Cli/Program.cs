using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>Entry point and command-line definition of <c>memphys</c>.</summary>
internal static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>Parses and runs; never throws, always returns an exit code from <see cref="ExitCodes"/>.</summary>
    public static int Run(string[] args) => Run(args, Environment.Is64BitProcess);

    /// <inheritdoc cref="Run(string[])"/>
    /// <param name="args">The command line.</param>
    /// <param name="is64BitProcess">Whether this process is 64-bit (a parameter so that the refusal can be tested).</param>
    internal static int Run(string[] args, bool is64BitProcess)
    {
        if (Platform.UnsupportedReason(is64BitProcess) is { } reason)
        {
            return Fail(new Output(json: false), reason, ExitCodes.Unsupported, null);
        }

        try
        {
            ParseResult parse = BuildRoot().Parse(args);
            if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
            {
                foreach (ParseError error in parse.Errors)
                {
                    Console.Error.WriteLine($"memphys: {error.Message}");
                }

                Console.Error.WriteLine("Try 'memphys --help'.");
                return ExitCodes.Usage;
            }

            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            // Commands run inside Guard; this catches what escapes parsing or System.CommandLine itself.
            return Fail(new Output(json: false), $"internal error: {ex.Message}", ExitCodes.InternalError, null);
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
            return body(output);
        }
        catch (MemphysException ex)
        {
            int code = ex.IsAccessError ? ExitCodes.DeviceUnavailable : ExitCodes.OsError;
            return Fail(output, ex.Message, code, ex.ErrnoName);
        }
        catch (UsageException ex)
        {
            return Fail(output, ex.Message, ExitCodes.Usage, null);
        }
        catch (UnauthorizedAccessException ex)
        {
            return Fail(output, ex.Message, ExitCodes.DeviceUnavailable, "EACCES");
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
