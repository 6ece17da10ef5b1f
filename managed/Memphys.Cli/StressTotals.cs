using System.Text.Json.Nodes;

namespace Memphys.Cli;

/// <summary>Totals of stress workers.</summary>
internal sealed class StressTotals
{
    public long Operations;
    public long Bytes;
    public long CorruptBytes;
    public List<string> Corruptions { get; } = [];

    public void Add(StressTotals other)
    {
        Operations += other.Operations;
        Bytes += other.Bytes;
        CorruptBytes += other.CorruptBytes;
        lock (Corruptions)
        {
            Corruptions.AddRange(other.Corruptions.Take(Math.Max(0, 20 - Corruptions.Count)));
        }
    }

    public JsonObject ToJson() => new()
    {
        ["operations"] = Operations,
        ["bytes"] = Bytes,
        ["corruptBytes"] = CorruptBytes,
        ["corruptions"] = new JsonArray(Corruptions.Select(c => (JsonNode)c).ToArray()),
    };

    public static StressTotals FromJson(JsonNode node)
    {
        var t = new StressTotals
        {
            Operations = node["operations"]!.GetValue<long>(),
            Bytes = node["bytes"]!.GetValue<long>(),
            CorruptBytes = node["corruptBytes"]!.GetValue<long>(),
        };
        t.Corruptions.AddRange(node["corruptions"]!.AsArray().Select(n => n!.GetValue<string>()));
        return t;
    }
}
