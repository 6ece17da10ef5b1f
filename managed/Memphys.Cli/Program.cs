using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>Entry point and command-line definition of <c>memphys</c>.</summary>
internal static class Program
{
    public static int Main(string[] args) => Run(args);

    /// <summary>Parses and runs; never throws, always returns an exit code from <see cref="ExitCodes"/>.</summary>
    public static int Run(string[] args)
    {
        RootCommand root = BuildRoot();
        ParseResult parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            foreach (ParseError error in parse.Errors)
            {
                Console.Error.WriteLine($"memphys: {error.Message}");
            }

            Console.Error.WriteLine("Try 'memphys --help'.");
            return ExitCodes.Usage;
        }

        return parse.Invoke();
    }

    // Shared options (each command gets its own instances so that defaults can differ per command).
    internal static Option<string> DeviceOption() => new("--device", "-d")
    {
        Description = "Device node.",
        DefaultValueFactory = _ => MemphysDevice.DefaultPath,
    };

    internal static Option<bool> JsonOption() => new("--json") { Description = "Machine-readable JSON on stdout." };

    internal static Option<long> OffsetOption() => new("--offset")
    {
        Description = "Byte offset in the region (page-aligned; accepts 0x.., K/M/G suffixes).",
        CustomParser = r => ParseSize(r),
        DefaultValueFactory = _ => 0,
    };

    internal static Option<long> LengthOption(string description) => new("--length")
    {
        Description = description,
        CustomParser = r => ParseSize(r),
        DefaultValueFactory = _ => 0,
    };

    internal static Option<ulong> SeedOption() => new("--seed")
    {
        Description = "Pattern seed; 0 (the default) picks a random one, which is printed.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>The seed to use: <paramref name="seed"/>, or a random one when it is 0.</summary>
    internal static ulong ResolveSeed(ulong seed) => seed != 0 ? seed : (ulong)Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>Parses "4096", "0x1000", "4K", "2M", "1G".</summary>
    internal static long ParseSize(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "0";
        if (TryParseSize(text, out long value))
        {
            return value;
        }

        result.AddError($"'{text}' is not a size (examples: 4096, 0x1000, 64K, 16M, 1G).");
        return 0;
    }

    internal static bool TryParseSize(string text, out long value)
    {
        value = 0;
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(text.Trim(),
            @"^(?:0x(?<hex>[0-9a-f]+)|(?<dec>[0-9]+))(?<unit>[kmgt])?(?:i?b)?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!m.Success)
        {
            return false;
        }

        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        bool ok = m.Groups["hex"].Success
            ? long.TryParse(m.Groups["hex"].Value, System.Globalization.NumberStyles.AllowHexSpecifier, invariant, out long parsed)
            : long.TryParse(m.Groups["dec"].Value, System.Globalization.NumberStyles.None, invariant, out parsed);
        long multiplier = m.Groups["unit"].Success
            ? char.ToUpperInvariant(m.Groups["unit"].Value[0]) switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1L << 40 }
            : 1;
        if (!ok || parsed < 0)
        {
            return false;
        }

        try
        {
            value = checked(parsed * multiplier);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "memphys: drive and check the memphys physical-memory driver (/dev/memphysN).\n" + ExitCodes.HelpText);
        root.Subcommands.Add(InfoCommand.Build());
        root.Subcommands.Add(MapCommand.Build());
        root.Subcommands.Add(VerifyCommand.Build());
        root.Subcommands.Add(StressCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(MemmapCommand.Build());
        root.Subcommands.Add(ChildCommand.Build());
        return root;
    }

    /// <summary>
    /// Runs a command body, turning every failure into one readable line on stderr (and a JSON error object
    /// on stdout with --json) and the matching exit code. No stack traces.
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
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return Fail(output, ex.Message, ExitCodes.OsError, null);
        }
    }

    private static int Fail(Output output, string message, int code, string? errno)
    {
        Console.Error.WriteLine($"memphys: {message}");
        if (output.Json)
        {
            output.WriteJson(new JsonObject { ["error"] = message, ["errno"] = errno, ["exitCode"] = code });
        }

        return code;
    }
}

/// <summary>A semantic usage error found after parsing (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);
