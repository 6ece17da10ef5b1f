using System.Runtime.CompilerServices;

namespace Memphys.Tests;

/// <summary>A fact that needs /dev/memphys* and root; skipped with the reason everywhere else.</summary>
public sealed class DeviceFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute; the skip is decided when the test runs (<see cref="DeviceEnvironment.Available"/>).</summary>
    public DeviceFactAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => DeviceEnvironment.SkipUnlessAvailable(this);
}
