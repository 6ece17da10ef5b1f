using System.Text.Json.Nodes;
using Memphys.Benchmarks;

namespace Memphys.Cli;

/// <summary>
/// The JSON of <c>memphys bench --json</c>: the run's parameters, every kind (figures with median, min, max,
/// spread, unstable and the samples; or <c>unsupported</c> with the reason) and the ratios. <see cref="ReadKinds"/>
/// reads the kinds back (<c>--include</c>), so a kind measured in another step joins the table and ratios.
/// </summary>
internal static class BenchJson
{
    public static JsonObject ToJson(BenchRun run) => new()
    {
        ["kernel"] = run.Kernel,
        ["device"] = run.Settings.DevicePath,
        ["offset"] = run.Settings.Offset,
        ["length"] = run.Settings.Length,
        ["window"] = run.Window,
        ["repetitions"] = run.Repetitions,
        ["transparentHugePages"] = run.Thp,
        ["unstableSpread"] = Summary.UnstableSpread,
        ["kinds"] = new JsonArray(run.Kinds.Select(k => (JsonNode)ToJson(k)).ToArray()),
        ["ratios"] = new JsonArray(run.Ratios.Select(r => (JsonNode)ToJson(r)).ToArray()),
    };

    private static JsonObject ToJson(KindResult k)
    {
        var figures = new JsonObject();
        foreach (string metric in Metric.All)
        {
            if (k[metric] is { } s)
            {
                JsonObject f = ToJson(s);
                f["samples"] = new JsonArray(k.Samples[metric].Select(v => (JsonNode)v).ToArray());
                figures[metric] = f;
            }
        }

        return new JsonObject
        {
            ["name"] = k.Name,
            ["group"] = k.Group,
            ["pageSize"] = k.PageSize,
            ["supported"] = k.Unsupported is null,
            ["unsupported"] = k.Unsupported,
            ["figures"] = figures,
            ["faults4k"] = k.Faults4K is { } a ? Common.ToJson(a) : null,
            ["faults2m"] = k.Faults2M is { } b ? Common.ToJson(b) : null,
        };
    }

    public static JsonObject ToJson(Summary s) => new()
    {
        ["median"] = s.Median,
        ["min"] = s.Min,
        ["max"] = s.Max,
        ["spread"] = double.IsFinite(s.Spread) ? s.Spread : null,
        ["unstable"] = s.IsUnstable,
    };

    private static JsonObject ToJson(RatioResult r)
    {
        JsonObject o = ToJson(r.Value);
        o["name"] = r.Definition.Name;
        o["numerator"] = r.Definition.Numerator;
        o["numeratorMetric"] = r.Definition.NumeratorMetric;
        o["denominator"] = r.Definition.Denominator;
        o["denominatorMetric"] = r.Definition.DenominatorMetric;
        o["target"] = r.Definition.Target;
        o["targetMet"] = BenchTable.TargetMet(r) is { } met ? met : null;
        o["meaningless"] = r.Definition.Meaningless;
        return o;
    }

    /// <summary>A <c>memphys bench --json</c> file as a run (its ratios are recomputed by the caller).</summary>
    public static BenchRun Read(string path)
    {
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new UsageException($"--include {path}: empty file");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new UsageException($"--include {path}: not JSON ({ex.Message})");
        }

        if (root["kinds"] is not JsonArray kinds)
        {
            throw new UsageException($"--include {path}: not the JSON of memphys bench (no \"kinds\")");
        }

        var settings = new BenchSettings((string)root["device"]!, (long)root["offset"]!, (long)root["length"]!, null, []);
        return new BenchRun(settings, (long)root["window"]!, (int)root["repetitions"]!, (string)root["kernel"]!,
            (string?)root["transparentHugePages"], ReadKinds(kinds), []);
    }

    private static List<KindResult> ReadKinds(JsonArray kinds)
    {
        var list = new List<KindResult>();
        foreach (JsonNode? node in kinds)
        {
            var k = new KindResult((string)node!["name"]!, (string)node["group"]!, (ulong)node["pageSize"]!)
            {
                Unsupported = (string?)node["unsupported"],
                Faults4K = ReadStats(node["faults4k"]),
                Faults2M = ReadStats(node["faults2m"]),
            };
            if (node["figures"] is JsonObject figures)
            {
                foreach ((string metric, JsonNode? f) in figures)
                {
                    k.Samples[metric] = f!["samples"]!.AsArray().Select(v => (double)v!).ToList();
                }
            }

            list.Add(k);
        }

        return list;
    }

    private static MemphysStats? ReadStats(JsonNode? n) => n is null ? null : new MemphysStats(
        (ulong)n["mmapCalls"]!, (ulong)n["bytesRemapped"]!, (ulong)n["pteFaults"]!, (ulong)n["pmdFaults"]!,
        (ulong)n["pudFaults"]!, (ulong)n["fallbackFaults"]!, (ulong)n["refused"]!, (ulong?)n["prefaulted"] ?? 0);
}
