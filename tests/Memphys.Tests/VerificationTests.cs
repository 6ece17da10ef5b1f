using Memphys.Native;
using Memphys.Verification;

namespace Memphys.Tests;

/// <summary>Host tests of the verification library and of the smaller library checks (UAPI header, 32-bit, resolver).</summary>
public sealed unsafe class VerificationTests
{
    [Fact]
    public void PageWordIsThePatternAtThePageStart()
    {
        byte[] page = new byte[4096];
        Pattern.Fill(page, 5 * 4096, seed: 9);
        Assert.Equal(Pattern.PageWord(9, 5), BitConverter.ToUInt64(page, 0));
        Assert.NotEqual(Pattern.PageWord(9, 5), Pattern.PageWord(9, 6));
        Assert.Equal(3, Pattern.DifferingBytes(0x00FF_0000_0100_0100UL));
    }

    [Fact]
    public void TheFaultAroundModelFillsAlignedWindowsClippedToTheMapping()
    {
        // 20 pages starting 3 pages into a 16-page window: the first touch maps pages 0-12, the last 13-19.
        const ulong page = 4096;
        var model = new FaultAroundModel(0x7f0000000000UL + 3 * page, 20, 16, (uint)page);
        model.Touch(0, stride: 20);
        Assert.Equal((1UL, 12UL), (model.Faults, model.Prefaulted));
        Assert.True(model.IsPresent(12));
        Assert.False(model.IsPresent(13));
        model.Touch(0);
        Assert.Equal((2UL, 18UL), (model.Faults, model.Prefaulted));

        var off = new FaultAroundModel(0x7f0000000000UL, 8, 1, (uint)page);
        off.Touch(1, stride: 2);
        Assert.Equal((4UL, 0UL), (off.Faults, off.Prefaulted));
        Assert.False(off.IsPresent(0));
    }

    [Fact]
    public void ACheckKeepsTheFirstFailuresAndCountsAll()
    {
        var check = new Check("c");
        Assert.Equal(CheckStatus.Passed, check.Status);
        for (int i = 0; i < 25; i++)
        {
            check.Expect(i % 2 == 0, $"odd {i}");
        }

        Assert.Equal(CheckStatus.Failed, check.Status);
        Assert.Equal(12, check.FailureCount);
        var outer = new Check("outer");
        outer.Include(check, "inner: ");
        Assert.Equal(12, outer.FailureCount);
        Assert.StartsWith("inner: odd 1", outer.Failures[0]);
        Assert.Contains("FAIL (12)", outer.ToString());
    }

    /// <summary>A skipped check used to read as passed: a caller counting passes counted skips.</summary>
    [Fact]
    public void ASkippedCheckIsNeitherPassedNorFailed()
    {
        Check skipped = new Check("s").Skip("why");
        Assert.Equal(CheckStatus.Skipped, skipped.Status);
        Assert.False(skipped.Passed);
        Assert.False(skipped.Failed);
        Assert.True(skipped.Skipped);
        var passed = new Check("p");
        Assert.True(passed.Passed);
        Assert.False(passed.Skipped);
        var report = new VerificationReport("/dev/memphys0", null!, new VerifyOptions(), [skipped, passed]);
        Assert.True(report.Passed);
        Assert.Equal([skipped], report.Skipped);
        Assert.Empty(report.Failed);
    }

    /// <summary>
    /// verify used to print "mincore and pagemap agree" after recording that they disagreed. An anonymous mapping
    /// with page 0 touched, checked against entries that claim page 1 is present, must fail and say so.
    /// </summary>
    [Fact]
    public void KernelWalkCrossCheckReportsDisagreement()
    {
        int page = Environment.SystemPageSize;
        using MemphysMapping map = MemphysMapping.CreateAnonymous(2L * page);
        map.Advise(Interop.Libc.MADV_NOHUGEPAGE);
        map.Pointer[0] = 1;
        var agree = new Check("agree");
        PageTableVerifier.CrossCheckKernelWalks(agree, map, [new PageTableEntry(true, true, map.ReadPagemap()[0].Pfn), default]);
        Assert.True(agree.Passed, agree.ToString());
        Assert.Contains("mincore and pagemap agree", agree.Detail);

        var disagree = new Check("disagree");
        PageTableVerifier.CrossCheckKernelWalks(disagree, map, [default, new PageTableEntry(true, true, 1)]);
        Assert.False(disagree.Passed);
        Assert.DoesNotContain("agree;", disagree.Detail + ";");
        Assert.Contains("disagree on 4 page(s)", disagree.Detail);
    }

    [Theory]
    [InlineData(0x40000000UL, 0x40000000L, 7u, 0x40000000L, 0UL, 0UL, 1UL)]
    [InlineData(0x40000000UL, 0x40000000L, 3u, 0x40000000L, 0UL, 512UL, 0UL)]
    [InlineData(0x40000000UL, 0x40000000L, 7u, 0x200000L, 0UL, 512UL, 0UL)]
    [InlineData(0x40001000UL, 0x800000L, 3u, 0x200000L, 512UL, 3UL, 0UL)]
    [InlineData(0x40000000UL, 0x1000000L, 1u, 0x1000L, 4096UL, 0UL, 0UL)]
    public void HugeFaultPlanCountsAlignedBlocks(ulong address, long length, uint sizes, long max, ulong pte, ulong pmd, ulong pud) =>
        Assert.Equal(new HugeFaultPlan(pte, pmd, pud), HugeFaultPlan.For(address, length, (FaultSizes)sizes, max, 4096));

    [Fact]
    public void ADriverReplyOfAnotherUapiRevisionIsRefused()
    {
        Uapi.CheckHeader(96, Uapi.UapiVersion, 96, "ioctl GET_INFO", "/dev/memphys0");
        var size = Assert.Throws<MemphysException>(() => Uapi.CheckHeader(88, Uapi.UapiVersion, 96, "ioctl GET_INFO", "/dev/memphys0"));
        Assert.Equal("EPROTO", ((IMemphysError)size).ErrnoName);
        Assert.Contains("88-byte", size.Message);
        var version = Assert.Throws<MemphysException>(() => Uapi.CheckHeader(96, Uapi.UapiVersion + 1, 96, "ioctl GET_STATS", null));
        Assert.Contains($"version {Uapi.UapiVersion + 1}", version.Message);
        Assert.DoesNotContain("\n", version.Message);
    }

    [Fact]
    public void A32BitProcessIsRefused()
    {
        Assert.Null(Platform.UnsupportedReason(is64BitProcess: true));
        var ex = Assert.Throws<PlatformNotSupportedException>(() => Platform.ThrowIfUnsupported(is64BitProcess: false));
        Assert.Equal(Platform.ThirtyTwoBitMessage, ex.Message);
        Assert.DoesNotContain("\n", ex.Message);
    }

    [Fact]
    public void LibcImportsBindThroughTheLibraryResolver()
    {
        Assert.True(Interop.Libc.GetEUid() < uint.MaxValue);
        Assert.Equal("libc.so.6", Interop.Libraries.LoadedFrom);
    }

    [Theory]
    [InlineData(0UL, "0 B")]
    [InlineData(100UL, "100 B")]
    [InlineData(4096UL, "4 KiB")]
    [InlineData(1536UL << 10, "1.5 MiB")]
    [InlineData(1UL << 30, "1 GiB")]
    public void SizesAreForPeople(ulong bytes, string text) => Assert.Equal(text, MemphysDevice.FormatSize(bytes));
}
