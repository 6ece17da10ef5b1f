using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spectre.Console;

namespace Memphys.Cli;

/// <summary>
/// Console output: Spectre tables on a terminal, plain text when redirected, JSON with --json.
/// Text: sizes for people (<see cref="Size(long)"/>), counts with thousands separators (<see cref="Count(long)"/>),
/// addresses and PFNs in hex with <c>0x</c> (<see cref="Hex"/>), booleans as yes/no.
/// JSON: camelCase names, plain numbers (bytes, counts, addresses, PFNs), lower-case enum values.
/// </summary>
internal sealed class Output(bool json)
{
    private static readonly JsonSerializerOptions s_jsonOptions = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // "base + index", not "base \u002B index"
    };

    public bool Json { get; } = json;

    /// <summary>True when stdout is a terminal (progress bars and colours only then).</summary>
    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected;

    public void WriteJson(JsonNode node) => Console.Out.WriteLine(node.ToJsonString(s_jsonOptions));

    public void Line(string text)
    {
        if (!Json)
        {
            Console.Out.WriteLine(text);
        }
    }

    /// <summary>Prints a two-column key/value table.</summary>
    public void KeyValues(string title, IEnumerable<(string Key, string Value)> rows)
    {
        if (Json)
        {
            return;
        }

        if (!Interactive)
        {
            var list = rows.ToList();
            int width = Math.Max(18, list.Count == 0 ? 0 : list.Max(r => r.Key.Length));
            Console.Out.WriteLine(title);
            foreach ((string key, string value) in list)
            {
                Console.Out.WriteLine($"  {key.PadRight(width)} {value}");
            }

            return;
        }

        var table = new Table().Title(Markup.Escape(title)).AddColumn("Field").AddColumn("Value");
        foreach ((string key, string value) in rows)
        {
            table.AddRow(Markup.Escape(key), Markup.Escape(value));
        }

        AnsiConsole.Write(table);
    }

    /// <summary>Prints a table with a header row.</summary>
    public void Table(string title, string[] header, IEnumerable<string[]> rows)
    {
        if (Json)
        {
            return;
        }

        var list = rows.ToList();
        if (!Interactive)
        {
            Console.Out.WriteLine(title);
            int[] widths = header.Select((h, i) => Math.Max(h.Length, list.Count == 0 ? 0 : list.Max(r => r[i].Length))).ToArray();
            Console.Out.WriteLine("  " + string.Join("  ", header.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
            foreach (string[] row in list)
            {
                Console.Out.WriteLine("  " + string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
            }

            return;
        }

        var table = new Table().Title(Markup.Escape(title));
        foreach (string h in header)
        {
            table.AddColumn(Markup.Escape(h));
        }

        foreach (string[] row in list)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }

        AnsiConsole.Write(table);
    }

    /// <summary>
    /// Runs <paramref name="body"/> with a progress callback (units done so far). A Spectre progress bar is shown
    /// only on a terminal without --json; otherwise the work just runs.
    /// </summary>
    public T WithProgress<T>(string title, double total, Func<Action<double>, T> body)
    {
        if (Json || !Interactive)
        {
            return body(_ => { });
        }

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(Markup.Escape(title), maxValue: Math.Max(total, 1));
                result = body(v => task.Value = Math.Min(v, task.MaxValue));
                task.Value = task.MaxValue;
            });
        return result;
    }

    public static string Hex(ulong value) => $"0x{value:x}";

    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Count(ulong value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string YesNo(bool value) => value ? "yes" : "no";

    public static string Milliseconds(TimeSpan time) => time.TotalMilliseconds.ToString("0.000 ms", CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs <paramref name="body"/> with a progress callback (phase name, fraction of it done). A Spectre progress
    /// bar is shown only on a terminal without --json; otherwise the work just runs.
    /// </summary>
    public T WithPhases<T>(string title, Func<Action<string, double>, T> body) =>
        WithProgress(title, 1, set => body((phase, fraction) => set(fraction)));

    public static string Size(long bytes) => MemphysDevice.FormatSize(bytes);

    public static string Size(ulong bytes) => MemphysDevice.FormatSize(bytes);
}
