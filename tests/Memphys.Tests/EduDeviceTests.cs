using Memphys.Dma;
using Memphys.Pci;

namespace Memphys.Tests;

/// <summary>
/// What <see cref="EduDevice"/> checks and writes before the device runs: the argument checks that keep every
/// transfer inside the part of the 4 KiB device buffer QEMU 7.2 accepts (one outside it stops the whole virtual
/// machine), and the register encoding of both directions. The transfers themselves are tested in the guest.
/// </summary>
public sealed class EduDeviceTests
{
    private const ulong Bus = 0x1_0000_0000;

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 4095)]
    [InlineData(4094, 1)]
    [InlineData(2048, 2047)]
    public void AcceptsTransfersInsideTheBuffer(int offset, int count) => EduDevice.ValidateTransfer(offset, count, Bus);

    [Theory]
    [InlineData(0, 0, "count")]
    [InlineData(0, -1, "count")]
    [InlineData(0, 4096, "count")] // the whole buffer: QEMU 7.2's bound check refuses its last byte
    [InlineData(1, 4095, "bufferOffset")]
    [InlineData(4095, 1, "bufferOffset")]
    [InlineData(4096, 1, "bufferOffset")]
    [InlineData(-1, 1, "bufferOffset")]
    [InlineData(int.MaxValue, 1, "bufferOffset")]
    [InlineData(2048, 2048, "bufferOffset")]
    public void RefusesTransfersLeavingTheBuffer(int offset, int count, string parameter)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => EduDevice.ValidateTransfer(offset, count, Bus));
        Assert.Equal(parameter, e.ParamName);
    }

    [Fact]
    public void RefusesABusRangeThatWraps()
    {
        EduDevice.ValidateTransfer(0, 16, ulong.MaxValue - 15);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => EduDevice.ValidateTransfer(0, 16, ulong.MaxValue - 14));
        Assert.Equal("busAddress", e.ParamName);
    }

    [Fact]
    public void ARefusedTransferWritesNoRegister()
    {
        var window = new RecordingRegisterWindow();
        var edu = new EduDevice(window);
        int before = window.Stores.Count;
        Assert.Throws<ArgumentOutOfRangeException>(() => edu.CopyToDevice(Bus, 4000, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => edu.CopyFromDevice(0, Bus, 4096));
        Assert.Equal(before, window.Stores.Count);
        Assert.Equal(0, edu.Transfers);
    }

    [Fact]
    public void EncodesRamToDevice()
    {
        var window = new RecordingRegisterWindow();
        var edu = new EduDevice(window);
        window.Stores.Clear();
        edu.CopyToDevice(Bus + 0x123, 16, 100);
        Assert.Equal([(0x80L, Bus + 0x123, 64), (0x88L, 0x40010UL, 64), (0x90L, 100UL, 64), (0x98L, 0x1UL, 64)], window.Stores);
        Assert.Equal((1L, 100L), (edu.Transfers, edu.BytesTransferred));
    }

    [Fact]
    public void EncodesDeviceToRam()
    {
        var window = new RecordingRegisterWindow();
        var edu = new EduDevice(window);
        window.Stores.Clear();
        edu.CopyFromDevice(0, Bus, 4095);
        Assert.Equal([(0x80L, 0x40000UL, 64), (0x88L, Bus, 64), (0x90L, 4095UL, 64), (0x98L, 0x3UL, 64)], window.Stores);
    }

    [Fact]
    public void RefusesAWindowThatIsNotEdu()
    {
        using var file = new TempRegisterFile(4096);
        using MmioWindow window = MmioWindow.Map(file.Path, 0, 4096);
        window.Write32(0, EduDevice.Identification);
        // Plain memory reads back what the liveness check writes instead of its complement.
        var e = Assert.Throws<InvalidDataException>(() => new EduDevice(window));
        Assert.Contains("liveness", e.Message);
        window.Write32(0, 0x12345678);
        e = Assert.Throws<InvalidDataException>(() => new EduDevice(window));
        Assert.Contains("0x12345678", e.Message);
    }
}
