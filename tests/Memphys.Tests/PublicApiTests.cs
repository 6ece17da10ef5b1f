using System.Reflection;
using System.Runtime.InteropServices;
using System.Xml.Linq;
using Memphys.Native;
using Memphys.Verification;

namespace Memphys.Tests;

/// <summary>
/// The public API of Memphys.Core as a user meets it: what is public (the exact list is
/// managed/Memphys.Core/PublicAPI.Shipped.txt, checked by the build), who owns the memory, read-only views,
/// exceptions of the standard types with the errno, the standard file handle, and thread safety stated on
/// every type. Each case failed before.
/// </summary>
public sealed class PublicApiTests
{
    private static readonly Assembly Core = typeof(MemphysDevice).Assembly;

    private static IEnumerable<Type> PublicTypes => Core.GetExportedTypes();

    /// <summary><c>MemphysMapping.Buffer</c> used to hand out the owning handle: disposing it unmapped the memory.</summary>
    [Fact]
    public void NoPublicMemberHandsOutAnOwningMappingHandle()
    {
        // The one public handle owns a dma-buf descriptor, handed to importers by number: never mapped memory.
        Assert.Equal([typeof(SafeDmaBufHandle)], PublicTypes.Where(t => typeof(SafeHandle).IsAssignableFrom(t)));
        foreach (Type type in PublicTypes)
        {
            foreach (PropertyInfo p in type.GetProperties(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            {
                Assert.False(typeof(SafeBuffer).IsAssignableFrom(p.PropertyType), $"{type}.{p.Name} hands out a SafeBuffer");
            }
        }

        Assert.Null(typeof(MemphysMapping).GetProperty("Buffer", BindingFlags.Public | BindingFlags.Instance));
    }

    /// <summary>Benchmarks, VFIO, PCI, the memory map and process helpers were public by accident of layout.</summary>
    [Fact]
    public void OnlyTheUsersApiIsPublic()
    {
        string[] namespaces = [.. PublicTypes.Select(t => t.Namespace!).Distinct().Order(StringComparer.Ordinal)];
        Assert.Equal(["Memphys", "Memphys.Persistence", "Memphys.Verification"], namespaces);
        Assert.DoesNotContain(PublicTypes, t => t.Name is "PageInspector" or "ProcessRunner" or "PhysicalMemoryMap" or "Platform");
        string baseline = File.ReadAllText(Path.Combine(TestPaths.RepoRoot()!, "managed/Memphys.Core/PublicAPI.Shipped.txt"));
        foreach (Type type in PublicTypes)
        {
            Assert.Contains(type.FullName!.Replace('+', '.'), baseline, StringComparison.Ordinal);
        }
    }

    /// <summary>A read-only mapping used to offer a writable span: a write through it was a SIGSEGV.</summary>
    [Fact]
    public void AReadOnlyMappingGivesOnlyReadOnlyViews()
    {
        using MemphysMapping map = MemphysMapping.CreateAnonymous(8192, MapProtection.Read);
        Assert.False(map.IsWritable);
        Assert.Throws<InvalidOperationException>(() => map.GetSpan(0, 1));
        Assert.Throws<InvalidOperationException>(() => map.AsSpan());
        Assert.Throws<InvalidOperationException>(() => map.GetMemory(0, 1));
        Assert.Throws<InvalidOperationException>(() => map.ForEachChunk((_, _) => { }));
        Assert.Equal(0, map.GetReadOnlySpan(4096, 10)[0]);
        Assert.Equal(8192, map.AsReadOnlySpan().Length);
        Assert.Equal(0, map.GetReadOnlyMemory(0, 4).Span[3]);
        long seen = 0;
        map.ForEachReadOnlyChunk((chunk, _) => seen += chunk.Length, 4096);
        Assert.Equal(8192, seen);

        var check = new Check("zeros");
        Assert.NotEqual(0, PatternVerifier.Compare(check, map, 1, cancellationToken: TestContext.Current.CancellationToken)); // comparing needs no write access
        Assert.True(check.Failed);
    }

    /// <summary>Views are guarded: after Dispose none can be made, and a pin keeps the memory mapped.</summary>
    [Fact]
    public void TheMappingGuardsItsViews()
    {
        MemphysMapping map = MemphysMapping.CreateAnonymous(4096);
        Memory<byte> memory = map.GetMemory(0, 16);
        using (System.Buffers.MemoryHandle pin = memory.Pin())
        {
            map.Dispose();
            unsafe
            {
                ((byte*)pin.Pointer)[0] = 7; // still mapped: the pin holds it
            }
        }

        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => map.GetReadOnlySpan(0, 1));
    }

    /// <summary>Errors used to be one private type; now each is the standard type .NET code catches, with the errno.</summary>
    [Fact]
    public void ErrorsAreStandardExceptionsCarryingTheErrno()
    {
        Assert.IsType<MemphysAccessException>(MemphysException.FromErrno(Interop.Errors.EACCES, "open", "/dev/memphys0"));
        UnauthorizedAccessException denied = Assert.IsAssignableFrom<UnauthorizedAccessException>(
            MemphysException.FromErrno(Interop.Errors.EPERM, "open", "/dev/memphys0"));
        Assert.Equal("EPERM", ((IMemphysError)denied).ErrnoName);

        using MemphysDevice zero = MemphysDevice.Open("/dev/zero");
        ArgumentException unaligned = Assert.IsAssignableFrom<ArgumentException>(Record.Exception(() => zero.Map(1, 4096)));
        Assert.Equal(Interop.Errors.EINVAL, ((IMemphysError)unaligned).Errno);
        Assert.DoesNotContain("\n", unaligned.Message, StringComparison.Ordinal);

        // A failed system call (pread at offset -1: EINVAL) takes the same path as every ioctl and open.
        ArgumentException negative = Assert.IsAssignableFrom<ArgumentException>(Record.Exception(() => zero.Read(-1, new byte[8])));
        Assert.Equal("EINVAL", ((IMemphysError)negative).ErrnoName);

        IOException missing = Assert.IsAssignableFrom<IOException>(Record.Exception(() => MemphysDevice.Open("/nonexistent/memphys0")));
        Assert.Equal(Interop.Errors.ENOENT, ((IMemphysError)missing).Errno);
    }

    /// <summary>The handle used to be a custom SafeFileDescriptor that RandomAccess (pread/pwrite) could not take.</summary>
    [Fact]
    public void TheDeviceHandleIsASafeFileHandleForRandomAccess()
    {
        using MemphysDevice zero = MemphysDevice.Open("/dev/zero");
        SafeFileHandle handle = zero.Handle;
        byte[] buffer = [1, 2, 3, 4];
        Assert.Equal(4, RandomAccess.Read(handle, buffer, 4096));
        Assert.Equal([0, 0, 0, 0], buffer);
    }

    /// <summary>Sizes are long across the API a user calls: offsets, lengths, counts.</summary>
    [Fact]
    public void MappingSizesAreLong()
    {
        Assert.Equal(typeof(long), typeof(MemphysMapping).GetProperty(nameof(MemphysMapping.Length))!.PropertyType);
        Assert.Equal(typeof(long), typeof(MemphysMapping).GetProperty(nameof(MemphysMapping.PageCount))!.PropertyType);
        ParameterInfo[] map = typeof(MemphysDevice).GetMethod(nameof(MemphysDevice.Map))!.GetParameters();
        Assert.Equal(typeof(long), map.Single(p => p.Name == "offset").ParameterType);
        Assert.Equal(typeof(long), map.Single(p => p.Name == "length").ParameterType);
    }

    /// <summary>Per-descriptor settings were shared by every thread with nothing saying so: each type now states its thread safety.</summary>
    [Fact]
    public void EveryPublicClassAndStructStatesItsThreadSafety()
    {
        string xmlPath = Path.ChangeExtension(Core.Location, ".xml");
        XDocument doc = XDocument.Load(xmlPath);
        var missing = new List<string>();
        foreach (Type type in PublicTypes.Where(t => !t.IsEnum && !t.IsInterface && !typeof(Delegate).IsAssignableFrom(t)))
        {
            XElement? member = doc.Descendants("member").FirstOrDefault(m => (string?)m.Attribute("name") == "T:" + type.FullName);
            if (member is null || !member.Value.Contains("thread", StringComparison.OrdinalIgnoreCase))
            {
                missing.Add(type.FullName!);
            }
        }

        Assert.True(missing.Count == 0, "no word on thread safety: " + string.Join(", ", missing));
        string device = doc.Descendants("member").First(m => (string?)m.Attribute("name") == "T:Memphys.MemphysDevice").Value;
        Assert.Contains("per handle", device, StringComparison.Ordinal);
    }

    /// <summary>Verification used to take no token: a long run could not be stopped.</summary>
    [Fact]
    public void VerificationTakesProgressAndACancellationToken()
    {
        MethodInfo run = typeof(RegionVerifier).GetMethods().Single(m => m.Name == nameof(RegionVerifier.Run) && m.GetParameters().Length == 4);
        Assert.Equal([typeof(string), typeof(VerifyOptions), typeof(IProgress<VerifyProgress>), typeof(CancellationToken)],
            run.GetParameters().Select(p => p.ParameterType));

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Throws<OperationCanceledException>(() => RegionVerifier.Run("/nonexistent/memphys0", new VerifyOptions(), null, cancelled.Token));
        using MemphysMapping map = MemphysMapping.CreateAnonymous(8 << 20);
        Assert.Throws<OperationCanceledException>(() => PatternVerifier.Fill(map, 1, cancellationToken: cancelled.Token));
    }
}
