using System.Runtime.CompilerServices;

namespace Memphys.Tests;

/// <summary>
/// A theory that needs /dev/memphys* and root. Each data row is its own test case everywhere (the host counts the
/// rows the guest must run) and each skips with the reason where the device is unavailable.
/// </summary>
public sealed class DeviceTheoryAttribute : TheoryAttribute
{
    /// <summary>Creates the attribute; the skip is decided when each row runs.</summary>
    public DeviceTheoryAttribute([CallerFilePath] string? sourceFilePath = null, [CallerLineNumber] int sourceLineNumber = -1)
        : base(sourceFilePath, sourceLineNumber) => DeviceEnvironment.SkipUnlessAvailable(this);
}
