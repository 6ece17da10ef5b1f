namespace Memphys.Verification;

/// <summary>Options of <see cref="StressRunner.Run"/>.</summary>
/// <remarks>Immutable (init-only); safe to share between threads.</remarks>
public sealed record StressOptions
{
    /// <summary>Region offset of the range to use (page-aligned).</summary>
    public long Offset { get; init; }

    /// <summary>Bytes of the region to use (whole pages, within the region): 64 MiB unless set.</summary>
    public long Length { get; init; } = 64L << 20;

    /// <summary>How long the workers run: 5 s unless set.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Worker threads of this process (at least 1).</summary>
    public int Threads { get; init; } = 2;

    /// <summary>
    /// Processes sharing the range (at least 1). Each process calls <see cref="StressRunner.Run"/> with the same
    /// options and its own <see cref="ProcessIndex"/>; the range is split into one slice per worker of all of them.
    /// </summary>
    public int Processes { get; init; } = 1;

    /// <summary>Which of the <see cref="Processes"/> this is, from 0.</summary>
    public int ProcessIndex { get; init; }

    /// <summary>Pattern seed; the same seed repeats the same operations.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Largest single write and read-back in bytes: a multiple of 8 from 8 to <see cref="int.MaxValue"/>; 64 KiB unless set.</summary>
    public long MaxOperationSize { get; init; } = 64L << 10;

    /// <summary>Fault-around of the fault-method mapping (pages per fault); 0 keeps the driver's default.</summary>
    public uint FaultAround { get; init; }
}
