namespace Memphys.Tests;

/// <summary>
/// <c>memphys memmap</c>: parsing of /proc/iomem, /sys/firmware/memmap and memmap= reservations, and the proposal,
/// on real captures (Samples/README.md): the QEMU test guest with 1 GiB reserved, and the Firecracker host.
/// </summary>
public sealed class PhysicalMemoryMapTests
{
    private const ulong GiB = 1UL << 30;
    private const string Guest = "qemu-q35-4g-memmap-1g";
    private const string Host = "firecracker-24g";

    internal static string Sample(string machine, string file = "") =>
        Path.Combine(TestPaths.RepoRoot() ?? throw new InvalidOperationException("no repository root"),
            "tests/Memphys.Tests/Samples", machine, file);

    private static IReadOnlyList<MemoryMapEntry> Iomem(string machine, string file = "iomem.txt") =>
        PhysicalMemoryMap.ParseIomem(File.ReadAllText(Sample(machine, file)));

    private static IReadOnlyList<MemoryMapEntry> Firmware(string machine) =>
        PhysicalMemoryMap.ReadFirmwareMemmap(Sample(machine, "firmware-memmap"));

    private static IReadOnlyList<PhysicalRange> GuestReserved() =>
        PhysicalMemoryMap.ParseMemmapReservations(File.ReadAllText(Sample(Guest, "cmdline.txt")));

    private static MemmapProposal Propose(ulong size, IReadOnlyList<PhysicalRange> free)
    {
        Assert.True(PhysicalMemoryMap.TryPropose(size, PhysicalMemoryMap.DefaultAlignment(size), free, out MemmapProposal? p, out string reason), reason);
        return p!;
    }

    [Fact]
    public void IomemKeepsNestingAndShowsTheReservedRegionClaimedByMemphys()
    {
        IReadOnlyList<MemoryMapEntry> iomem = Iomem(Guest);
        Assert.Equal(
            [new(0x1000, 0x9fbff), new(0x100000, 0x7ffdffff), new(0x140000000, 0x17fffffff)],
            iomem.Where(e => e.Depth == 0 && e.Type == PhysicalMemoryMap.SystemRam).Select(e => e.Range));
        Assert.Contains(new MemoryMapEntry(new(0xfffc0000, 0x13fffffff), "Reserved", 0), iomem);
        Assert.Contains(new MemoryMapEntry(new(0x100000000, 0x13fffffff), "memphys", 1), iomem);
        Assert.Contains(iomem, e => e.Type == "Kernel code" && e.Depth == 1);
        Assert.False(PhysicalMemoryMap.AddressesHidden(iomem));
    }

    [Fact]
    public void FirmwareMapStillShowsTheReservedRangeAsRam()
    {
        IReadOnlyList<MemoryMapEntry> firmware = Firmware(Guest);
        Assert.Equal(9, firmware.Count);
        Assert.Equal(
            [new(0x0, 0x9fbff), new(0x100000, 0x7ffdffff), new(0x100000000, 0x17fffffff)],
            firmware.Where(e => e.Type == PhysicalMemoryMap.SystemRam).Select(e => e.Range));
        Assert.Equal(new MemoryMapEntry(new(0xfd00000000, 0xffffffffff), "Reserved", 0), firmware[^1]);
    }

    [Fact]
    public void MissingFirmwareMapIsEmpty() =>
        Assert.Empty(PhysicalMemoryMap.ReadFirmwareMemmap(Path.Combine(Path.GetTempPath(), "memphys-no-such-dir")));

    [Fact]
    public void UnprivilegedIomemIsRecognisedAndTheFirmwareMapSuffices()
    {
        IReadOnlyList<MemoryMapEntry> hidden = Iomem(Host, "iomem-unprivileged.txt");
        Assert.True(PhysicalMemoryMap.AddressesHidden(hidden));
        Assert.Equal(Iomem(Host).Select(e => (e.Type, e.Depth)), hidden.Select(e => (e.Type, e.Depth)));
        // Without iomem's view only page 0 (kept by the kernel, RAM to the firmware) differs; the proposal does not.
        Assert.Equal(new PhysicalRange(0, 0x9fbff), PhysicalMemoryMap.FreeRam(Firmware(Host), hidden, [])[0]);
        Assert.Equal(new PhysicalRange(0x1000, 0x9fbff), PhysicalMemoryMap.FreeRam(Firmware(Host), Iomem(Host), [])[0]);
        Assert.Equal(
            Propose(GiB, PhysicalMemoryMap.FreeRam(Firmware(Host), Iomem(Host), [])).Range,
            Propose(GiB, PhysicalMemoryMap.FreeRam(Firmware(Host), hidden, [])).Range);
        Assert.Throws<InvalidOperationException>(() => PhysicalMemoryMap.FreeRam([], hidden, []));
    }

    [Fact]
    public void GuestCommandLineReservesOneGiB() =>
        Assert.Equal([new PhysicalRange(0x100000000, 0x13fffffff)], GuestReserved());

    [Fact]
    public void ReservationsOfEveryRemovingForm()
    {
        string cmdline = "root=/dev/vda1 memmap=512M$0x180000000,1G!4G memmap=exactmap memmap=64K#0x1000 " +
                         "memmap=100M@2G memmap=010K$0 memmap=junk$1 memmap=0$0x1000 mem=4G memmap=1G\\$0x200000000";
        Assert.Equal(
        [
            new PhysicalRange(0x180000000, 0x19fffffff),
            new PhysicalRange(0x100000000, 0x13fffffff),
            new PhysicalRange(0x1000, 0x10fff),
            new PhysicalRange(0x0, 0x1fff),
        ], PhysicalMemoryMap.ParseMemmapReservations(cmdline));
    }

    [Theory]
    [InlineData("4096", 4096UL)]
    [InlineData("0x1000", 4096UL)]
    [InlineData("010", 8UL)]
    [InlineData("1G", 1UL << 30)]
    [InlineData("4g", 4UL << 30)]
    [InlineData("2T", 2UL << 40)]
    [InlineData("16E", 0UL)]
    [InlineData("0x", 0UL)]
    [InlineData("08", 0UL)]
    [InlineData("1X", 0UL)]
    public void MemparseReadsSizesLikeTheKernel(string text, ulong expected)
    {
        bool ok = PhysicalMemoryMap.TryParseMemparse(text, out ulong value);
        Assert.Equal(expected != 0, ok);
        Assert.Equal(expected, ok ? value : 0);
    }

    [Fact]
    public void GuestFreeRamExcludesTheReservationAndLowFirmwareBytes()
    {
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam(Firmware(Guest), Iomem(Guest), GuestReserved());
        // The kernel keeps page 0 for itself: iomem's RAM starts at 0x1000, the firmware's at 0.
        Assert.Equal([new(0x1000, 0x9fbff), new(0x100000, 0x7ffdffff), new(0x140000000, 0x17fffffff)], free);
    }

    [Fact]
    public void GuestProposalIsTheRemainingHighGiB()
    {
        MemmapProposal p = Propose(GiB, PhysicalMemoryMap.FreeRam(Firmware(Guest), Iomem(Guest), GuestReserved()));
        Assert.Equal(new PhysicalRange(0x140000000, 0x17fffffff), p.Range);
        Assert.Equal(new PhysicalRange(0x140000000, 0x17fffffff), p.Within);
        Assert.Equal("memmap=1G$0x140000000", p.KernelParameter);
        Assert.Equal(@"memmap=1G\\\$0x140000000", p.GrubParameter);
        Assert.Equal("1G@0x140000000", p.Regions);
        Assert.Equal(0x9ec00UL + 0x7fee0000 + GiB, p.RamUsable);
        Assert.Equal(0x9ec00UL + 0x7fee0000, p.RamLeft);
    }

    [Fact]
    public void SmallerSizesTakeTheTopOfRamWithTwoMiBAlignment()
    {
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam(Firmware(Guest), Iomem(Guest), GuestReserved());
        MemmapProposal p = Propose(256UL << 20, free);
        Assert.Equal(2UL << 20, p.Alignment);
        Assert.Equal(new PhysicalRange(0x170000000, 0x17fffffff), p.Range);
        Assert.Equal("memmap=256M$0x170000000", p.KernelParameter);
    }

    [Fact]
    public void HostProposalsAreAlignedInsideTheHighRam()
    {
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam(Firmware(Host), Iomem(Host), []);
        Assert.Equal(new PhysicalRange(0x600000000, 0x63fffffff), Propose(GiB, free).Range);
        Assert.Equal(new PhysicalRange(0x5c0000000, 0x63fffffff), Propose(2 * GiB, free).Range);
        MemmapProposal odd = Propose(GiB + (4UL << 20), free);
        Assert.Equal(0x5c0000000UL, odd.Range.Start);
        Assert.Equal("memmap=1028M$0x5c0000000", odd.KernelParameter);
    }

    [Fact]
    public void FallsBackToIomemWithoutAFirmwareMap()
    {
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam([], Iomem(Guest), []);
        Assert.Equal(new PhysicalRange(0x140000000, 0x17fffffff), Propose(GiB, free).Range);
    }

    [Fact]
    public void RefusesToLeaveLinuxLessThanOneGiB()
    {
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam(Firmware(Guest), Iomem(Guest), GuestReserved());
        Assert.False(PhysicalMemoryMap.TryPropose(2 * GiB, GiB, free, out MemmapProposal? p, out string reason));
        Assert.Null(p);
        Assert.Contains("at least 1 GiB must stay", reason);
    }

    [Fact]
    public void RefusesWhenNoRangeHoldsTheAlignedSize()
    {
        IReadOnlyList<PhysicalRange> free = PhysicalMemoryMap.FreeRam(Firmware(Host), Iomem(Host), []);
        Assert.False(PhysicalMemoryMap.TryPropose(22 * GiB, GiB, free, out _, out string reason));
        Assert.Contains("no free RAM range holds 22 GiB", reason);
        Assert.Throws<ArgumentException>(() => PhysicalMemoryMap.TryPropose(1000, 4096, free, out _, out _));
        Assert.Throws<ArgumentException>(() => PhysicalMemoryMap.TryPropose(GiB, 3 << 20, free, out _, out _));
    }
}
