namespace Memphys.Tests;

/// <summary>Device tests share the region and its counters: they never run in parallel with each other.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeviceCollection
{
    /// <summary>Collection name for <c>[Collection(DeviceCollection.Name)]</c>.</summary>
    public const string Name = "Device";
}
