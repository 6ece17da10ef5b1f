using Memphys.Pci;

namespace Memphys.Tests;

/// <summary>
/// <see cref="PciFunction"/>'s reading of a sysfs-shaped folder (IDs, BAR lengths): the files' formats are the
/// kernel's (pci-sysfs.c). Enabling, bus mastering and mapping are tested on the guest's real edu function.
/// </summary>
public sealed class PciFunctionTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("memphys-pci-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string AddFunction(string address, string vendor, string device, params string[] resources)
    {
        string path = Path.Combine(_root, address);
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "vendor"), vendor + "\n");
        File.WriteAllText(Path.Combine(path, "device"), device + "\n");
        File.WriteAllLines(Path.Combine(path, "resource"), resources);
        return path;
    }

    [Fact]
    public void FindsFunctionsByVendorAndDevice()
    {
        const string none = "0x0000000000000000 0x0000000000000000 0x0000000000000000";
        AddFunction("0000:00:03.0", "0x1234", "0x11e8", "0x00000000fea00000 0x00000000feafffff 0x0000000000040200", none, none, none, none, none);
        AddFunction("0000:00:01.0", "0x1234", "0x11e8", none, none, none, none, none, none);
        AddFunction("0000:00:02.0", "0x1af4", "0x1009", none, none, none, none, none, none);
        Directory.CreateDirectory(Path.Combine(_root, "0000:00:04.0")); // no ID files: skipped, not an error

        IReadOnlyList<PciFunction> found = PciFunction.Find(0x1234, 0x11e8, _root);
        Assert.Equal(["0000:00:01.0", "0000:00:03.0"], found.Select(f => f.Address));
        Assert.Equal(1 << 20, found[1].ResourceLength(0));
        Assert.Equal(0, found[0].ResourceLength(0));
        Assert.Null(found[1].Driver);
        Assert.Null(found[1].IommuGroup);
        Assert.Equal("0000:00:03.0 [1234:11e8]", found[1].ToString());
        var e = Assert.Throws<MemphysException>(() => found[0].MapResource(0));
        Assert.Equal("ENXIO", ((IMemphysError)e).ErrnoName);
    }

    [Fact]
    public void AtReadsOneFunctionAndRefusesAnAddressWithoutOne()
    {
        AddFunction("0000:00:01.0", "0x1af4", "0x1009");
        PciFunction function = PciFunction.At("0000:00:01.0", _root);
        Assert.Equal((0x1af4, 0x1009), (function.VendorId, function.DeviceId));

        MemphysException e = Assert.Throws<MemphysException>(() => PciFunction.At("0000:00:07.0", _root));
        Assert.Equal("ENOENT", ((IMemphysError)e).ErrnoName);
    }

    [Fact]
    public void AMissingFolderHasNoFunctions() => Assert.Empty(PciFunction.Find(0x1234, 0x11e8, Path.Combine(_root, "nope")));
}
