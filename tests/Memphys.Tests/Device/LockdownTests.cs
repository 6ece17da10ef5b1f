namespace Memphys.Tests.Device;

/// <summary>
/// Kernel lockdown closes memphys like /dev/mem. Raising lockdown cannot be undone, so this runs only in the
/// throw-away test guest (MEMPHYS_IN_VM=1), in a guest of its own: tests/run-tests.sh's guest-lockdown stage runs
/// the <c>Category=DeviceLockdown</c> trait alone. An unsigned module cannot load under lockdown at all, so the
/// test raises it after the harness loaded memphys.
/// </summary>
[Trait(DeviceEnvironment.Category, Trait)]
[Collection(DeviceCollection.Name)]
public sealed class LockdownTests
{
    /// <summary>Trait value of the lockdown tests: <c>-trait Category=DeviceLockdown</c>.</summary>
    public const string Trait = "DeviceLockdown";

    private const string LockdownFile = "/sys/kernel/security/lockdown";

    [DeviceFact]
    public void OpenIsRefusedWithEpermOnceLockdownIsRaised()
    {
        Assert.SkipUnless(DeviceEnvironment.Available, DeviceEnvironment.SkipReason ?? "");
        Assert.SkipUnless(Environment.GetEnvironmentVariable("MEMPHYS_IN_VM") == "1",
            "raises kernel lockdown, which cannot be undone: runs only in the throw-away test guest (MEMPHYS_IN_VM=1)");
        if (!File.Exists(LockdownFile))
        {
            DeviceSupport.Run("mount", "-t", "securityfs", "securityfs", "/sys/kernel/security");
        }

        Assert.True(File.Exists(LockdownFile), $"{LockdownFile} missing: this kernel has no lockdown LSM");
        using MemphysDevice before = DeviceEnvironment.Open();
        File.WriteAllText(LockdownFile, "integrity");
        Assert.Contains("[integrity]", File.ReadAllText(LockdownFile), StringComparison.Ordinal);

        MemphysAccessException e = Assert.Throws<MemphysAccessException>(() => MemphysDevice.Open(DeviceEnvironment.DevicePath));
        Assert.Equal("EPERM", ((IMemphysError)e).ErrnoName);
        // Like /dev/mem, lockdown is checked at open: a file opened before keeps working.
        Assert.Equal(DeviceEnvironment.DevicePath, before.Path);
        Assert.True(before.GetInfo().RegionSize > 0);
    }
}
