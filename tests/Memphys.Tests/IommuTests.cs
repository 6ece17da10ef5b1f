using Memphys.Dma;

namespace Memphys.Tests;

/// <summary><see cref="Iommu.ActiveUnits"/> over a folder shaped like /sys/class/iommu (entries are symlinks there).</summary>
public sealed class IommuTests
{
    [Fact]
    public void ListsUnitsInNameOrder()
    {
        DirectoryInfo root = Directory.CreateTempSubdirectory("memphys-iommu-");
        try
        {
            Assert.Empty(Iommu.ActiveUnits(root.FullName));
            Directory.CreateDirectory(Path.Combine(root.FullName, "dmar1"));
            File.CreateSymbolicLink(Path.Combine(root.FullName, "dmar0"), "/nonexistent/dmar0");
            Assert.Equal(["dmar0", "dmar1"], Iommu.ActiveUnits(root.FullName));
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }

    [Fact]
    public void NoFolderMeansNoIommu() => Assert.Empty(Iommu.ActiveUnits("/nonexistent/class/iommu"));
}
