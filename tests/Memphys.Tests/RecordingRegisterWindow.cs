using Memphys.Pci;

namespace Memphys.Tests;

/// <summary>
/// A register window that answers edu's identification and liveness registers and records every store: for
/// checking only how <see cref="Memphys.Dma.EduDevice"/> encodes a transfer. What a transfer does is tested
/// against the real device in the guest (Device/EduDmaTests).
/// </summary>
internal sealed class RecordingRegisterWindow : IRegisterWindow
{
    private uint _liveness;

    public long Length => 1 << 20;

    /// <summary>Every store, in order: (offset, value, width in bits).</summary>
    public List<(long Offset, ulong Value, int Bits)> Stores { get; } = [];

    public uint Read32(long offset) => offset switch
    {
        0x00 => Memphys.Dma.EduDevice.Identification,
        0x04 => _liveness,
        _ => 0,
    };

    public void Write32(long offset, uint value)
    {
        Stores.Add((offset, value, 32));
        if (offset == 0x04)
        {
            _liveness = ~value;
        }
    }

    // The command register reads 0 (idle, finished): the device's own clearing of the start bit is not modelled.
    public ulong Read64(long offset) => 0;

    public void Write64(long offset, ulong value) => Stores.Add((offset, value, 64));
}
