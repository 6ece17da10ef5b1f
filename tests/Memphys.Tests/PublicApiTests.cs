using System.Reflection;
using System.Text.RegularExpressions;
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

    /// <summary>
    /// Sizes used to mix long and ulong (RegionSize, MaxFaultSize, PageSize, SetMaxFaultSize, PagesEntrySizes, the
    /// FaultSize constants, Map's alignment, EntrySize): no size, offset, length or alignment anywhere in the public
    /// API is unsigned now. (Spans cap some lengths at int; addresses, frame numbers, counters and seeds stay ulong.)
    /// </summary>
    [Fact]
    public void NoPublicSizeOffsetOrLengthIsUnsigned()
    {
        static bool IsSize(string name) => Regex.IsMatch(name, "(?i)size|length|offset|alignment|^bytes$");
        static bool IsUnsigned(Type t) => t == typeof(ulong) || t == typeof(uint) || t == typeof(nuint) ||
            (t.IsGenericType && t.GetGenericArguments().Any(IsUnsigned));
        var wrong = new List<string>();
        foreach (Type type in PublicTypes)
        {
            bool sizeType = IsSize(type.Name);
            const BindingFlags all = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (PropertyInfo p in type.GetProperties(all).Where(p => IsSize(p.Name) && IsUnsigned(p.PropertyType)))
            {
                wrong.Add($"{type.Name}.{p.Name}");
            }

            foreach (FieldInfo f in type.GetFields(all).Where(f => !type.IsEnum && (sizeType || IsSize(f.Name)) && IsUnsigned(f.FieldType)))
            {
                wrong.Add($"{type.Name}.{f.Name}");
            }

            foreach (MethodBase m in type.GetMethods(all).Where(m => !m.IsSpecialName).Concat<MethodBase>(type.GetConstructors()))
            {
                if (m is MethodInfo method && IsSize(method.Name) && IsUnsigned(method.ReturnType))
                {
                    wrong.Add($"{type.Name}.{m.Name} returns {method.ReturnType.Name}");
                }

                wrong.AddRange(m.GetParameters().Where(p => IsSize(p.Name!) && IsUnsigned(p.ParameterType))
                    .Select(p => $"{type.Name}.{m.Name}({p.Name})"));
            }
        }

        Assert.True(wrong.Count == 0, "unsigned sizes: " + string.Join(", ", wrong));
    }

    /// <summary>With sizes signed, a negative one is an argument error before any system call, not a huge unsigned value.</summary>
    [Fact]
    public void NegativeSizesAreArgumentOutOfRange()
    {
        using MemphysDevice zero = MemphysDevice.Open("/dev/zero");
        Assert.Throws<ArgumentOutOfRangeException>(() => zero.SetMaxFaultSize(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => zero.Map(0, 4096, alignment: -(2L << 20)));
        Assert.Throws<ArgumentOutOfRangeException>(() => zero.Map(-4096, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => MemphysDevice.FormatSize(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => HugeFaultPlan.For(0, -4096, FaultSizes.Pte4K, FaultSize.Pte, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => HugeFaultPlan.For(0, 4096, FaultSizes.Pte4K, -1, 4096));
        Assert.Throws<ArgumentOutOfRangeException>(() => HugeFaultPlan.For(0, 4096, FaultSizes.Pte4K, FaultSize.Pte, 0));
        Assert.Equal("2 MiB", MemphysDevice.FormatSize(FaultSize.Pmd));
        Assert.Equal(new HugeFaultPlan(1, 1, 0), HugeFaultPlan.For(0, FaultSize.Pmd + FaultSize.Pte, FaultSizes.Pte4K | FaultSizes.Pmd2M, FaultSize.Pmd, 4096));
    }

    /// <summary>
    /// The three exception types used to repeat their errno members and message formatting; they now share one
    /// record, read through <see cref="IMemphysError"/>, so the three give the same errno, name, path and message.
    /// </summary>
    [Fact]
    public void TheThreeErrorTypesShareOneErrnoRecord()
    {
        Exception[] errors =
        [
            new MemphysException(Interop.Errors.EBUSY, "ioctl SET_CACHING wc", "/dev/memphys0", "refused"),
            new MemphysAccessException(Interop.Errors.EBUSY, "ioctl SET_CACHING wc", "/dev/memphys0", "refused"),
            new MemphysArgumentException(Interop.Errors.EBUSY, "ioctl SET_CACHING wc", "/dev/memphys0", "refused"),
        ];
        foreach (Exception e in errors)
        {
            var error = Assert.IsAssignableFrom<IMemphysError>(e);
            Assert.Equal("/dev/memphys0: ioctl SET_CACHING wc refused (EBUSY)", e.Message);
            Assert.Equal((Interop.Errors.EBUSY, "EBUSY", "ioctl SET_CACHING wc", "/dev/memphys0", "refused"),
                (error.Errno, error.ErrnoName, error.Operation, error.DevicePath, error.Detail));
            Assert.Equal(Interop.Errors.EBUSY, e.HResult);
            Assert.Null(e.GetType().GetProperty(nameof(IMemphysError.Errno), BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly));
        }

        Assert.True(typeof(IMemphysError).GetProperty(nameof(IMemphysError.Errno))!.GetMethod!.IsVirtual);
        Assert.False(typeof(IMemphysError).GetProperty(nameof(IMemphysError.Errno))!.GetMethod!.IsAbstract);
    }

    /// <summary>The release is recorded: every public symbol is in PublicAPI.Shipped.txt and nothing is left unshipped.</summary>
    [Fact]
    public void ThePublicApiIsShipped()
    {
        string dir = Path.Combine(TestPaths.RepoRoot()!, "managed/Memphys.Core");
        Assert.Equal(["#nullable enable"], File.ReadAllLines(Path.Combine(dir, "PublicAPI.Unshipped.txt")).Where(l => l.Length > 0));
        string[] shipped = File.ReadAllLines(Path.Combine(dir, "PublicAPI.Shipped.txt"));
        Assert.Contains("static Memphys.Verification.StressRunner.Run(string! path, Memphys.Verification.StressOptions! options, " +
            "System.IProgress<Memphys.Verification.StressProgress>? progress = null, System.Threading.CancellationToken cancellationToken = " +
            "default(System.Threading.CancellationToken)) -> Memphys.Verification.StressResult!", shipped);
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

    /// <summary>
    /// Verification used to take no token, and the stress runner was the CLI's own: every public long operation
    /// (verify, fill, compare, stress) now takes an <see cref="IProgress{T}"/> and a <see cref="CancellationToken"/>.
    /// </summary>
    [Fact]
    public void EveryLongOperationTakesProgressAndACancellationToken()
    {
        MethodInfo[] operations =
        [
            typeof(RegionVerifier).GetMethods().Single(m => m.Name == nameof(RegionVerifier.Run) && m.GetParameters().Length == 4),
            typeof(PatternVerifier).GetMethod(nameof(PatternVerifier.Fill))!,
            typeof(PatternVerifier).GetMethod(nameof(PatternVerifier.Compare))!,
            typeof(StressRunner).GetMethod(nameof(StressRunner.Run))!,
        ];
        foreach (MethodInfo m in operations)
        {
            Type[] parameters = [.. m.GetParameters().Select(p => p.ParameterType)];
            Assert.Contains(parameters, t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IProgress<>));
            Assert.Equal(typeof(CancellationToken), parameters[^1]);
        }

        Assert.Null(typeof(VerifyOptions).GetProperty("Progress"));
        using MemphysMapping map = MemphysMapping.CreateAnonymous(8 << 20);
        var fractions = new List<double>();
        PatternVerifier.Fill(map, 3, new SynchronousProgress<double>(fractions.Add), TestContext.Current.CancellationToken);
        Assert.Equal([0.5, 1.0], fractions);
        fractions.Clear();
        Assert.Equal(0, PatternVerifier.Compare(new Check("filled"), map, 3, new SynchronousProgress<double>(fractions.Add),
            TestContext.Current.CancellationToken));
        Assert.Equal([0.0], fractions); // one report per 16 MiB
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
