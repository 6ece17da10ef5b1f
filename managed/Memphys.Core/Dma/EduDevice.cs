using System.Diagnostics;
using Memphys.Native;
using Memphys.Pci;

namespace Memphys.Dma;

/// <summary>
/// QEMU's educational PCI device (<c>-device edu</c>, PCI 1234:11e8; QEMU's docs/specs/edu.txt) driven through its
/// BAR0 registers: a DMA engine that copies between bus addresses and a 4 KiB buffer inside the device, one
/// transfer at a time, each finishing on a 100 ms virtual timer. It shows that a device's writes land in a memphys
/// region and its reads see what a program stored there.
/// <para>
/// Every transfer is checked before a register is written: QEMU 7.2 stops the whole virtual machine (hw_error)
/// on a transfer that leaves the device buffer, and its bound check is off by one, so a transfer must end before
/// the buffer's last byte (<see cref="MaxTransfer"/>). The device masks bus addresses with its <c>dma_mask</c>
/// property, 28 bits by default, silently: start QEMU with <c>-device edu,dma_mask=0xffffffffffffffff</c> to reach
/// RAM above 256 MiB.
/// </para>
/// </summary>
internal sealed class EduDevice
{
    /// <summary>PCI vendor ID of edu (QEMU's).</summary>
    public const ushort VendorId = 0x1234;

    /// <summary>PCI device ID of edu.</summary>
    public const ushort DeviceId = 0x11e8;

    /// <summary>What the identification register reads: 0xRRrr00ed, version 1.0.</summary>
    public const uint Identification = 0x010000ed;

    /// <summary>Size of the device buffer.</summary>
    public const int BufferSize = 4096;

    /// <summary>
    /// Most bytes one transfer can move, and the end (exclusive) of the buffer range a transfer may cover:
    /// QEMU 7.2 checks that the transfer's end lies inside the buffer, so the end can never be the buffer's end.
    /// </summary>
    public const int MaxTransfer = BufferSize - 1;

    /// <summary>Where the device buffer starts in the device's DMA address space (the value the engine is given).</summary>
    internal const ulong BufferBase = 0x40000;

    internal const long IdentificationRegister = 0x00;
    internal const long LivenessRegister = 0x04;
    internal const long DmaSourceRegister = 0x80;
    internal const long DmaDestinationRegister = 0x88;
    internal const long DmaCountRegister = 0x90;
    internal const long DmaCommandRegister = 0x98;

    /// <summary>Command bit: start the transfer; the device clears it when the transfer is done.</summary>
    internal const ulong CommandStart = 0x1;

    /// <summary>Command bit: direction device buffer to RAM (clear: RAM to device buffer).</summary>
    internal const ulong CommandToRam = 0x2;

    /// <summary>The registers the device decodes end here.</summary>
    private const long RegisterSpan = 0xa0;

    private readonly IRegisterWindow _registers;

    /// <summary>Drives the edu device whose BAR0 is <paramref name="registers"/>, after checking that it is one.</summary>
    /// <exception cref="InvalidDataException">The window is not an edu BAR0 (identification or liveness check failed).</exception>
    public EduDevice(IRegisterWindow registers)
    {
        ArgumentNullException.ThrowIfNull(registers);
        if (registers.Length < RegisterSpan)
        {
            throw new ArgumentException($"edu's registers span 0x{RegisterSpan:x} bytes; the window has 0x{registers.Length:x}", nameof(registers));
        }

        _registers = registers;
        uint id = registers.Read32(IdentificationRegister);
        if (id != Identification)
        {
            throw new InvalidDataException($"not an edu device: the identification register reads 0x{id:x8}, edu's is 0x{Identification:x8}");
        }

        // The liveness register returns the complement of what was written: a window onto memory or onto
        // another device would read the value itself back.
        const uint probe = 0x5a5a_0f0f;
        registers.Write32(LivenessRegister, probe);
        uint answer = registers.Read32(LivenessRegister);
        if (answer != ~probe)
        {
            throw new InvalidDataException($"edu liveness check failed: wrote 0x{probe:x8}, read 0x{answer:x8} (want 0x{~probe:x8})");
        }
    }

    /// <summary>
    /// Refuses, before anything is opened, a PCI function whose IDs are not edu's: only edu's DMA engine is known
    /// to this type, and writing its registers into another device could make that device do anything.
    /// </summary>
    /// <exception cref="MemphysException">ENOENT when there is no such PCI function; ENODEV when it is not edu.</exception>
    public static void RequireIds(string pciAddress, string operation)
    {
        PciFunction function = PciFunction.At(pciAddress);
        if (function.VendorId != VendorId || function.DeviceId != DeviceId)
        {
            throw new MemphysException(Interop.Errors.ENODEV, operation, pciAddress,
                $"is not edu-compatible: its IDs are {function.VendorId:x4}:{function.DeviceId:x4}, edu's are {VendorId:x4}:{DeviceId:x4}");
        }
    }

    /// <summary>
    /// Drives the edu device of PCI function <paramref name="pciAddress"/> whose BAR0 is <paramref name="registers"/>;
    /// a window that fails the identification or liveness check is reported as the errno a caller expects of a
    /// device that is not what it should be.
    /// </summary>
    /// <exception cref="MemphysException">ENODEV when the window is not an edu BAR0.</exception>
    public static EduDevice Attach(IRegisterWindow registers, string pciAddress, string operation)
    {
        try
        {
            return new EduDevice(registers);
        }
        catch (InvalidDataException e)
        {
            throw new MemphysException(Interop.Errors.ENODEV, operation, pciAddress, $"is not edu-compatible: {e.Message}");
        }
    }

    /// <summary>How long <see cref="CopyToDevice"/> and <see cref="CopyFromDevice"/> wait for a transfer (default 10 s).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Transfers completed by this instance.</summary>
    public long Transfers { get; private set; }

    /// <summary>Bytes moved by those transfers.</summary>
    public long BytesTransferred { get; private set; }

    /// <summary>True while the device runs a transfer (command bit 0 set).</summary>
    public bool IsBusy => (_registers.Read64(DmaCommandRegister) & CommandStart) != 0;

    /// <summary>
    /// Checks a transfer of <paramref name="count"/> bytes between device buffer offset <paramref name="bufferOffset"/>
    /// and <paramref name="busAddress"/>: 1 to <see cref="MaxTransfer"/> bytes ending before buffer offset
    /// <see cref="MaxTransfer"/>, and a bus range that does not wrap.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The transfer would leave the device buffer or wrap the bus.</exception>
    public static void ValidateTransfer(int bufferOffset, int count, ulong busAddress)
    {
        if (count < 1 || count > MaxTransfer)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count,
                $"an edu transfer moves 1 to {MaxTransfer} bytes (QEMU 7.2 stops the whole machine on one that leaves its {BufferSize}-byte buffer)");
        }

        if (bufferOffset < 0 || bufferOffset > MaxTransfer - count)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferOffset), bufferOffset,
                $"{count} bytes from device buffer offset {bufferOffset} leave the usable buffer, offsets 0 to {MaxTransfer - 1} " +
                "(QEMU 7.2 stops the whole machine on such a transfer)");
        }

        if (busAddress > ulong.MaxValue - (ulong)count + 1)
        {
            throw new ArgumentOutOfRangeException(nameof(busAddress), busAddress,
                $"{count} bytes from bus address 0x{busAddress:x} wrap around the end of the bus");
        }
    }

    /// <summary>DMA from RAM (or whatever <paramref name="busAddress"/> reaches) into the device buffer; waits until done.</summary>
    /// <exception cref="ArgumentOutOfRangeException">See <see cref="ValidateTransfer"/>.</exception>
    /// <exception cref="InvalidOperationException">A transfer is already running.</exception>
    /// <exception cref="TimeoutException">The device did not finish within <see cref="Timeout"/>.</exception>
    public void CopyToDevice(ulong busAddress, int bufferOffset, int count)
    {
        ValidateTransfer(bufferOffset, count, busAddress);
        Run(busAddress, BufferBase + (ulong)bufferOffset, count, CommandStart,
            $"RAM 0x{busAddress:x} -> device buffer +{bufferOffset}, {count} bytes");
    }

    /// <summary>DMA from the device buffer to RAM (or whatever <paramref name="busAddress"/> reaches); waits until done.</summary>
    /// <inheritdoc cref="CopyToDevice" path="/exception"/>
    public void CopyFromDevice(int bufferOffset, ulong busAddress, int count)
    {
        ValidateTransfer(bufferOffset, count, busAddress);
        Run(BufferBase + (ulong)bufferOffset, busAddress, count, CommandStart | CommandToRam,
            $"device buffer +{bufferOffset} -> RAM 0x{busAddress:x}, {count} bytes");
    }

    private void Run(ulong source, ulong destination, int count, ulong command, string what)
    {
        // The device ignores register writes while a transfer runs: starting one then would silently redo the
        // running transfer's parameters.
        if (IsBusy)
        {
            throw new InvalidOperationException($"edu DMA {what}: another transfer is still running");
        }

        // Stores to the memory the device is about to read (through a write-combining mapping they can still sit in
        // the CPU's buffers) reach memory before the command register starts the device.
        Interlocked.MemoryBarrier();
        _registers.Write64(DmaSourceRegister, source);
        _registers.Write64(DmaDestinationRegister, destination);
        _registers.Write64(DmaCountRegister, (ulong)count);
        _registers.Write64(DmaCommandRegister, command);
        WaitUntilDone(what);
        Transfers++;
        BytesTransferred += count;
    }

    private void WaitUntilDone(string what)
    {
        var clock = Stopwatch.StartNew();
        ulong status;
        while (((status = _registers.Read64(DmaCommandRegister)) & CommandStart) != 0)
        {
            if (clock.Elapsed > Timeout)
            {
                throw new TimeoutException(
                    $"edu DMA {what} did not complete within {Timeout.TotalSeconds:0.#} s: the command register still reads 0x{status:x} " +
                    "(is the function enabled? Its memory space must decode for the registers to answer)");
            }

            Thread.Sleep(1);
        }
    }
}
