namespace Memphys.Tests.Device;

/// <summary>Trait of the cases that make test also runs in a two-vCPU guest (<c>-trait Stage=Concurrency</c>).</summary>
public static class TestStage
{
    /// <summary>Trait name.</summary>
    public const string Name = "Stage";

    /// <summary>Cases about threads and processes racing each other: worth running on several CPUs.</summary>
    public const string Concurrency = "Concurrency";
}
