using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Memphys.Cli;

/// <summary>
/// The options of every command. Each value is validated where it is parsed (finite, positive, bounded, page-aligned,
/// a supported fault size), so a bad one is a usage error (exit 2) before any device is opened.
/// </summary>
internal static class Options
{
    /// <summary>Largest region offset or length accepted: 64 TiB (x86-64 has 52 physical address bits at most; this is plenty).</summary>
    public const long MaxBytes = 1L << 46;

    /// <summary>Longest stress run: one day.</summary>
    public const double MaxSeconds = 86400;

    public const int MaxThreads = 256;
    public const int MaxProcesses = 64;
    public const int MaxWorkers = 1024;
    public const long MaxOperation = 64L << 20;
    public const int MaxIterations = 1000;

    private static readonly long Page = Environment.SystemPageSize;

    public static Option<string> Device()
    {
        var option = new Option<string>("--device", "-d")
        {
            Description = "Device node.",
            DefaultValueFactory = _ => MemphysDevice.DefaultPath,
        };
        option.Validators.Add(RequireNonEmpty);
        return option;
    }

    /// <summary>Accepts only <paramref name="values"/> (case-insensitive), with a one-line error naming them.</summary>
    public static void OneOf<T>(Option<T> option, params string[] values)
    {
        option.HelpName = string.Join('|', values.Order(StringComparer.Ordinal));
        option.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && !values.Contains(r.Tokens[0].Value, StringComparer.OrdinalIgnoreCase))
            {
                r.AddError($"{option.Name} '{r.Tokens[0].Value}' is not one of {string.Join(", ", values)}.");
            }
        });
    }

    /// <summary>An option naming a file or device must not be empty or blank: a usage error, not a failed open.</summary>
    public static void RequireNonEmpty(OptionResult r)
    {
        if (r.Tokens.Count > 0 && string.IsNullOrWhiteSpace(r.Tokens[0].Value))
        {
            r.AddError($"{r.Option.Name} is empty: give a path, e.g. {MemphysDevice.DefaultPath}.");
        }
    }

    public static Option<bool> Json() => new("--json") { Description = "Machine-readable JSON on stdout." };

    public static Option<long> Offset() => new("--offset")
    {
        Description = "Byte offset in the region (page-aligned; accepts 0x.., K/M/G suffixes).",
        CustomParser = r => ParsePages(r, "--offset", allowZero: true),
        DefaultValueFactory = _ => 0,
    };

    /// <summary>--length; not given reads as 0, which each command replaces by its own default (in its description).</summary>
    public static Option<long> Length(string description) => new("--length")
    {
        Description = description,
        CustomParser = r => ParsePages(r, "--length", allowZero: false),
    };

    /// <summary>--seed; not given reads as 0, a random seed that the command prints.</summary>
    public static Option<ulong> Seed() => new("--seed")
    {
        Description = "Pattern seed, a whole number (decimal or 0x hex); default (or 0): a random one, which is printed.",
        CustomParser = ParseSeed,
    };

    private static ulong ParseSeed(ArgumentResult r)
    {
        string text = Token(r).Trim();
        bool ok = text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong value)
            : ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (!ok)
        {
            r.AddError($"--seed '{Token(r)}' must be a whole number from 0 (random) to {ulong.MaxValue}, decimal or 0x hex.");
            return 0;
        }

        return value;
    }

    public static Option<double> Seconds(double defaultValue) => new("--seconds", "-s")
    {
        Description = $"Duration in seconds (more than 0, at most {MaxSeconds:0}).",
        CustomParser = ParseSeconds,
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<int> Count(string name, string alias, string description, int defaultValue, int max) => new(name, alias)
    {
        Description = $"{description} (1 to {max}).",
        CustomParser = r => ParseCount(r, name, max),
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<long> MaxOp() => new("--max-op")
    {
        Description = $"Largest single write/read-back in bytes (8 to {MemphysDevice.FormatSize(MaxOperation)}, a multiple of 8).",
        CustomParser = ParseMaxOp,
        DefaultValueFactory = _ => 64 << 10,
    };

    public static Option<long> MaxFault() => new("--max-fault")
    {
        Description = "Largest fault size for the fault method: 4K, 2M or 1G; default: the driver's.",
        CustomParser = ParseFaultSize,
    };

    /// <summary>--fault-around N: pages per 4 KiB fault of the fault method; 0 when not given (the driver's default).</summary>
    public static Option<uint> FaultAround() => new("--fault-around")
    {
        Description = $"Pages one 4 KiB fault of the fault method maps, the faulting one and its aligned neighbours: " +
            $"a power of two from 1 (off) to {MemphysDevice.MaxFaultAround}; default: the driver's (module parameter fault_around).",
        CustomParser = ParseFaultAround,
    };

    /// <summary>The seed to use: <paramref name="seed"/>, or a random one when it is 0.</summary>
    public static ulong ResolveSeed(ulong seed) => seed != 0 ? seed : (ulong)Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>Parses "4096", "0x1000", "4K", "2M", "1G" (optionally "KiB"/"KB"); false for anything else or an overflow.</summary>
    public static bool TryParseSize(string text, out long value)
    {
        value = 0;
        System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(text.Trim(),
            @"^(?:0x(?<hex>[0-9a-f]+)|(?<dec>[0-9]+))(?<unit>[kmgt])?(?:i?b)?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!m.Success)
        {
            return false;
        }

        bool ok = m.Groups["hex"].Success
            ? long.TryParse(m.Groups["hex"].Value, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out long parsed)
            : long.TryParse(m.Groups["dec"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out parsed);
        int shift = m.Groups["unit"].Success ? 10 * ("kmgt".IndexOf(char.ToLowerInvariant(m.Groups["unit"].Value[0])) + 1) : 0;
        if (!ok || parsed < 0 || parsed > long.MaxValue >> shift)
        {
            return false;
        }

        value = parsed << shift;
        return true;
    }

    /// <summary>A size option's value (the caller checks its range), or 0 after recording an error on <paramref name="r"/>.</summary>
    public static long ParseSize(ArgumentResult r, string name) => Size(r, name) ?? 0;

    private static string Token(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[0].Value : "";

    /// <summary>A size, or null after recording an error on <paramref name="r"/>.</summary>
    private static long? Size(ArgumentResult r, string name)
    {
        if (TryParseSize(Token(r), out long value))
        {
            return value;
        }

        r.AddError($"{name} '{Token(r)}' is not a size (examples: 4096, 0x1000, 64K, 16M, 1G).");
        return null;
    }

    public static long ParsePages(ArgumentResult r, string name, bool allowZero)
    {
        if (Size(r, name) is not { } value)
        {
            return 0;
        }

        if ((!allowZero && value == 0) || value > MaxBytes || value % Page != 0)
        {
            r.AddError($"{name} {Token(r)} must be a multiple of the {Page}-byte page size{(allowZero ? "" : " above 0")}, at most {MemphysDevice.FormatSize(MaxBytes)}.");
            return 0;
        }

        return value;
    }

    private static double ParseSeconds(ArgumentResult r)
    {
        if (!double.TryParse(Token(r), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ||
            !double.IsFinite(value) || value <= 0 || value > MaxSeconds)
        {
            r.AddError($"--seconds '{Token(r)}' must be a number of seconds above 0 and at most {MaxSeconds:0}.");
            return 0;
        }

        return value;
    }

    private static int ParseCount(ArgumentResult r, string name, int max)
    {
        if (!int.TryParse(Token(r), NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < 1 || value > max)
        {
            r.AddError($"{name} '{Token(r)}' must be a whole number from 1 to {max}.");
            return 0;
        }

        return value;
    }

    private static long ParseMaxOp(ArgumentResult r)
    {
        if (Size(r, "--max-op") is not { } value)
        {
            return 0;
        }

        if (value < 8 || value > MaxOperation || value % 8 != 0)
        {
            r.AddError($"--max-op {Token(r)} must be a multiple of 8 from 8 to {MemphysDevice.FormatSize(MaxOperation)}.");
            return 0;
        }

        return value;
    }

    private static uint ParseFaultAround(ArgumentResult r)
    {
        if (!uint.TryParse(Token(r), NumberStyles.None, CultureInfo.InvariantCulture, out uint value) ||
            value < 1 || value > MemphysDevice.MaxFaultAround || !uint.IsPow2(value))
        {
            r.AddError($"--fault-around '{Token(r)}' must be a power of two from 1 (off) to {MemphysDevice.MaxFaultAround} pages.");
            return 0;
        }

        return value;
    }

    private static long ParseFaultSize(ArgumentResult r)
    {
        if (Size(r, "--max-fault") is not { } value)
        {
            return 0;
        }

        if (value is not (FaultSize.Pte or FaultSize.Pmd or FaultSize.Pud))
        {
            r.AddError($"--max-fault {Token(r)} is not a fault size: use 4K, 2M or 1G.");
            return 0;
        }

        return value;
    }
}
