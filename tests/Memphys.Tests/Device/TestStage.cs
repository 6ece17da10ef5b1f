namespace Memphys.Tests.Device;

/// <summary>Traits of the cases that make test runs again in a guest of their own (two vCPUs, a large region).</summary>
public static class TestStage
{
    /// <summary>Trait name.</summary>
    public const string Name = "Stage";

    /// <summary>Cases about threads and processes racing each other: worth running on several CPUs.</summary>
    public const string Concurrency = "Concurrency";

    /// <summary>
    /// Classes whose cases map, touch or compare the whole region: make test runs them again over an 8 GiB region
    /// (<c>-trait Stage=WholeRegion</c>, the guest-large stage).
    /// </summary>
    public const string WholeRegion = "WholeRegion";
}
