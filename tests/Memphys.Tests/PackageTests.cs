using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;

namespace Memphys.Tests;

/// <summary>
/// The NuGet packages of <c>make pack</c> (managed/nupkg), opened as the zip files they are: metadata, readme, XML
/// documentation, symbols, the tool's settings, and the one version of VERSION. The package stage of
/// tests/run-tests.sh packs first and runs these; without packages they skip and say so.
/// </summary>
[Trait(Category, Package)]
public sealed class PackageTests
{
    /// <summary>Trait of the tests that need <c>make pack</c>: the package stage runs them, the host stage does not.</summary>
    public const string Category = "Category";

    /// <inheritdoc cref="Category"/>
    public const string Package = "Package";

    private static readonly string Root = TestPaths.RepoRoot() ?? throw new InvalidOperationException("no Managed.sln above the test binary");

    private static string Version => File.ReadAllText(Path.Combine(Root, "VERSION")).Trim();

    [Theory]
    [InlineData("Memphys.Core")]
    [InlineData("memphys")]
    public void ThePackageHasCompleteMetadata(string id)
    {
        using ZipArchive zip = Open(id, "nupkg");
        XElement metadata = Nuspec(zip, id);
        string Field(string name) => metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? "";

        Assert.Equal(id, Field("id"));
        Assert.Equal(Version, Field("version"));
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("expression", metadata.Elements().Single(e => e.Name.LocalName == "license").Attribute("type")?.Value);
        Assert.Equal("memphys contributors", Field("authors"));
        // The project has no public address: no URL at all rather than a made-up one. The readme says where the
        // source comes from, and the SDK's source control information records the commit packed (no URL).
        Assert.Equal("", Field("projectUrl"));
        XElement repository = Assert.Single(metadata.Elements(), e => e.Name.LocalName == "repository");
        Assert.Null(repository.Attribute("url"));
        Assert.Matches("^[0-9a-f]{40}$", (string?)repository.Attribute("commit") ?? "");
        Assert.True(Field("description").Length > 80, $"description: '{Field("description")}'");
        Assert.DoesNotContain("Package Description", Field("description"), StringComparison.Ordinal);
        Assert.Equal("README.md", Field("readme"));
        Assert.Contains(zip.Entries, e => e.FullName == "README.md" && e.Length > 500);
        using (var readme = new StreamReader(zip.GetEntry("README.md")!.Open()))
        {
            string text = readme.ReadToEnd();
            Assert.Contains("Where the source comes from", text, StringComparison.Ordinal);
            Assert.DoesNotContain("https://", text, StringComparison.Ordinal);
        }

        Assert.NotNull(Entry(zip, "Memphys.Core.xml"));
    }

    [Fact]
    public void TheLibraryShipsItsXmlDocumentationAndSymbols()
    {
        using ZipArchive zip = Open("Memphys.Core", "nupkg");
        Assert.NotNull(zip.GetEntry("lib/net10.0/Memphys.Core.dll"));
        ZipArchiveEntry xml = Assert.IsType<ZipArchiveEntry>(zip.GetEntry("lib/net10.0/Memphys.Core.xml"), exactMatch: false);
        using (Stream s = xml.Open())
        {
            XDocument doc = XDocument.Load(s);
            Assert.Contains(doc.Descendants("member"), m => (string?)m.Attribute("name") == "T:Memphys.MemphysMapping");
        }

        using ZipArchive symbols = Open("Memphys.Core", "snupkg");
        Assert.NotNull(symbols.GetEntry("lib/net10.0/Memphys.Core.pdb"));
    }

    [Fact]
    public void TheToolPackageIsADotnetToolNamedMemphys()
    {
        using ZipArchive zip = Open("memphys", "nupkg");
        XElement metadata = Nuspec(zip, "memphys");
        XElement types = Assert.Single(metadata.Elements(), e => e.Name.LocalName == "packageTypes");
        Assert.Contains(types.Elements(), t => (string?)t.Attribute("name") == "DotnetTool");
        ZipArchiveEntry settings = Assert.IsType<ZipArchiveEntry>(zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml"), exactMatch: false);
        using Stream s = settings.Open();
        XElement command = Assert.Single(XDocument.Load(s).Descendants("Command"));
        Assert.Equal("memphys", (string?)command.Attribute("Name"));
        Assert.Equal("memphys.dll", (string?)command.Attribute("EntryPoint"));
        Assert.NotNull(zip.GetEntry("tools/net10.0/any/Memphys.Core.dll"));
    }

    /// <summary>The assemblies, the packages, DKMS and the module's MODULE_VERSION all come from VERSION.</summary>
    [Fact]
    public void OneVersionFeedsAssembliesAndTheDriverBuild()
    {
        Assert.Matches(@"^\d+\.\d+\.\d+$", Version);
        Assert.Equal(Version, typeof(MemphysDevice).Assembly.GetName().Version!.ToString(3));
        Assert.StartsWith(Version, typeof(Cli.ExitCodes).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion,
            StringComparison.Ordinal);
        Assert.Contains("$(memphys-version-file)", File.ReadAllText(Path.Combine(Root, "driver/Kbuild")), StringComparison.Ordinal);
        Assert.DoesNotContain("#define MEMPHYS_VERSION", File.ReadAllText(Path.Combine(Root, "driver/memphys_main.c")), StringComparison.Ordinal);
        Assert.Contains("PACKAGE_VERSION=\"@VERSION@\"", File.ReadAllText(Path.Combine(Root, "driver/dkms.conf")), StringComparison.Ordinal);
    }

    private static ZipArchive Open(string id, string extension)
    {
        string path = Path.Combine(Root, "managed/nupkg", $"{id}.{Version}.{extension}");
        Assert.SkipUnless(File.Exists(path), $"{path} is missing: run `make pack` (the package stage of make test does)");
        return ZipFile.OpenRead(path);
    }

    private static XElement Nuspec(ZipArchive zip, string id)
    {
        ZipArchiveEntry entry = Assert.IsType<ZipArchiveEntry>(zip.GetEntry($"{id}.nuspec"), exactMatch: false);
        using Stream s = entry.Open();
        return XDocument.Load(s).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }

    private static ZipArchiveEntry? Entry(ZipArchive zip, string fileName) =>
        zip.Entries.FirstOrDefault(e => e.Name == fileName);
}
