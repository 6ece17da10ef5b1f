using System.Globalization;
using System.Net;
using System.Text;
using Memphys.Benchmarks;

namespace Memphys.Cli;

/// <summary>
/// The chart of <c>memphys bench --chart FILE.svg</c>, written without any library: two panels of horizontal
/// bars per kind, bandwidth (MiB/s, linear) and first-touch time (ms, logarithmic: kinds differ by orders of
/// magnitude); each bar is the median, its whisker the min-max of the rounds. Unsupported kinds are listed by name.
/// </summary>
internal static class SvgChart
{
    private const int Width = 900;
    private const int Label = 150;
    private const int BarHeight = 9;
    private const int KindGap = 10;
    private const int Top = 40;

    private static readonly (string Metric, string Colour)[] s_bandwidth =
    [
        (Metric.Write, "#4e79a7"), (Metric.Read, "#59a14f"), (Metric.Copy, "#f28e2b"), (Metric.MemSet, "#9c755f"), (Metric.MemCpy, "#e15759"),
    ];

    private static readonly (string Metric, string Colour)[] s_touch = [(Metric.Touch4K, "#4e79a7"), (Metric.Touch2M, "#f28e2b")];

    public static void Write(string path, BenchRun run)
    {
        var kinds = run.Kinds.Where(k => k.Unsupported is null).ToList();
        var svg = new StringBuilder();
        int y = Top;
        var body = new StringBuilder();
        y = Panel(body, y, "Bandwidth, MiB/s (median, whisker min-max)", kinds, s_bandwidth, 1, log: false);
        y = Panel(body, y + 30, "First touch of the whole range, ms (log scale)", kinds, s_touch, 1000, log: true);
        string unsupported = string.Join(", ", run.Kinds.Where(k => k.Unsupported is not null).Select(k => k.Name));
        if (unsupported.Length > 0)
        {
            body.Append(Text(10, y + 20, $"unsupported here: {unsupported}", 11));
            y += 20;
        }

        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{y + 20}\" font-family=\"sans-serif\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect width=\"{Width}\" height=\"{y + 20}\" fill=\"white\"/>\n");
        svg.Append(Text(10, 22, $"memphys bench: {Output.Size((ulong)run.Settings.Length)}, kernel {run.Kernel}, {run.Repetitions} rounds", 14));
        svg.Append(body);
        svg.Append("</svg>\n");
        File.WriteAllText(path, svg.ToString());
    }

    private static int Panel(StringBuilder svg, int y, string title, IReadOnlyList<KindResult> kinds, (string Metric, string Colour)[] series,
        double scale, bool log)
    {
        svg.Append(Text(10, y, title, 12));
        for (int i = 0; i < series.Length; i++)
        {
            int x = Label + (i * 110);
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{x}\" y=\"{y + 6}\" width=\"10\" height=\"10\" fill=\"{series[i].Colour}\"/>\n");
            svg.Append(Text(x + 14, y + 15, Metric.Label(series[i].Metric), 10));
        }

        y += 26;
        var values = kinds.SelectMany(k => series.Select(s => k[s.Metric])).OfType<Summary>().ToList();
        if (values.Count == 0)
        {
            return y;
        }

        double max = values.Max(v => v.Max) * scale, min = Math.Max(values.Min(v => v.Min) * scale, 1e-6);
        double lo = log ? Math.Floor(Math.Log10(min)) : 0, hi = log ? Math.Ceiling(Math.Log10(max)) : max;
        double span = Math.Max(hi - lo, 1e-9);
        int plot = Width - Label - 90;
        double X(double v) => Label + (plot * ((log ? Math.Log10(Math.Max(v * scale, min)) : v * scale) - lo) / span);

        foreach (KindResult k in kinds)
        {
            svg.Append(Text(10, y + (series.Length * BarHeight / 2) + 4, k.Name, 11));
            foreach ((string metric, string colour) in series)
            {
                if (k[metric] is { } s)
                {
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<rect x=\"{Label}\" y=\"{y}\" width=\"{Math.Max(X(s.Median) - Label, 1):0.#}\" height=\"{BarHeight - 1}\" fill=\"{colour}\"/>\n");
                    svg.Append(CultureInfo.InvariantCulture,
                        $"<line x1=\"{X(s.Min):0.#}\" x2=\"{X(s.Max):0.#}\" y1=\"{y + 4}\" y2=\"{y + 4}\" stroke=\"black\"/>\n");
                    svg.Append(Text((int)X(s.Max) + 4, y + 8, (s.Median * scale).ToString("G3", CultureInfo.InvariantCulture) + (s.IsUnstable ? " !" : ""), 9));
                }

                y += BarHeight;
            }

            y += KindGap;
        }

        for (int t = 0; t <= 4; t++)
        {
            double v = lo + (span * t / 4);
            double x = Label + (plot * t / 4.0);
            string label = (log ? Math.Pow(10, v) : v).ToString("G3", CultureInfo.InvariantCulture);
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x:0.#}\" x2=\"{x:0.#}\" y1=\"{y - 4}\" y2=\"{y}\" stroke=\"black\"/>\n");
            svg.Append(Text((int)x - 10, y + 12, label, 9));
        }

        return y + 16;
    }

    private static string Text(int x, int y, string text, int size) =>
        string.Create(CultureInfo.InvariantCulture, $"<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\">{WebUtility.HtmlEncode(text)}</text>\n");
}
