namespace Memphys.Benchmarks;

/// <summary>The samples of one kind: per metric, one value per repetition; or why the kind is unsupported.</summary>
internal sealed class KindResult(string name, string group, ulong pageSize)
{
    /// <summary>Kind name.</summary>
    public string Name { get; } = name;

    /// <summary>Kind family.</summary>
    public string Group { get; } = group;

    /// <summary>Largest page size of the kind.</summary>
    public ulong PageSize { get; } = pageSize;

    /// <summary>Why the kind could not be measured; null when it was.</summary>
    public string? Unsupported { get; set; }

    /// <summary>Samples per metric (<see cref="Metric"/>), in repetition order.</summary>
    public Dictionary<string, List<double>> Samples { get; } = [];

    /// <summary>The driver's fault counts over the 4 KiB first touch (memphys kinds; last repetition).</summary>
    public MemphysStats? Faults4K { get; set; }

    /// <summary>The driver's fault counts over the 2 MiB-stride first touch (memphys kinds; last repetition).</summary>
    public MemphysStats? Faults2M { get; set; }

    /// <summary>The summary of a metric, or null without samples.</summary>
    public Summary? this[string metric] => Samples.TryGetValue(metric, out List<double>? s) && s.Count > 0 ? Summary.Of(s) : null;

    internal void Add(string metric, double value)
    {
        if (!Samples.TryGetValue(metric, out List<double>? list))
        {
            Samples[metric] = list = [];
        }

        list.Add(value);
    }
}
