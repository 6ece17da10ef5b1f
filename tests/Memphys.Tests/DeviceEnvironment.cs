namespace Memphys.Tests;

/// <summary>
/// Shared helper for device tests: where the device is, whether it can be used, and opening it (skipping the
/// test with the reason when it cannot). Set MEMPHYS_DEVICE to test another node than /dev/memphys0.
/// </summary>
public static class DeviceEnvironment
{
    /// <summary>Trait name/value that marks device tests: run them with <c>-trait Category=Device</c>.</summary>
    public const string Category = "Category";

    /// <inheritdoc cref="Category"/>
    public const string Device = "Device";

    /// <summary>The device under test.</summary>
    public static string DevicePath { get; } = Environment.GetEnvironmentVariable("MEMPHYS_DEVICE") is { Length: > 0 } p ? p : MemphysDevice.DefaultPath;

    /// <summary>Why device tests cannot run here, or null when they can.</summary>
    public static string? SkipReason { get; } = ComputeSkipReason();

    /// <summary>True when the device exists and we are root.</summary>
    public static bool Available => SkipReason is null;

    /// <summary>Opens the device under test, or skips the calling test when it is unavailable.</summary>
    public static MemphysDevice Open()
    {
        Assert.SkipUnless(Available, SkipReason ?? "");
        return MemphysDevice.Open(DevicePath);
    }

    /// <summary>Makes <paramref name="fact"/> skip, with <see cref="SkipReason"/>, unless the device is available.</summary>
    internal static void SkipUnlessAvailable(FactAttribute fact)
    {
        fact.Skip = SkipReason ?? "device unavailable";
        fact.SkipType = typeof(DeviceEnvironment);
        fact.SkipUnless = nameof(Available);
    }

    private static string? ComputeSkipReason()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "device tests need Linux";
        }

        if (!File.Exists(DevicePath))
        {
            return $"device tests need {DevicePath} (the memphys module, i.e. the VM guest) and root; {DevicePath} is missing";
        }

        if (!PageInspector.IsRoot)
        {
            return $"device tests need root (CAP_SYS_RAWIO) to open {DevicePath}";
        }

        return null;
    }
}
