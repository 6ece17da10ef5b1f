using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Memphys.Persistence;

/// <summary>
/// A record in reserved RAM that a program can trust after a kexec or a warm reset: two slots, each a 64-byte
/// header (magic, format version, generation, payload length, CRC-32C of the payload, CRC-32C of the header) and
/// the payload. A write goes to the slot that does not hold the newest valid record and commits last, so an
/// interrupted write leaves the previous generation readable and shows itself as <see cref="RecordSlotState.Torn"/>;
/// RAM that never held a record (garbage after a cold boot) reads as <see cref="RecordSlotState.Invalid"/>.
/// </summary>
/// <remarks>
/// The area is any span of the region (a <see cref="MemphysMapping"/> span, or ordinary memory in tests); its
/// length fixes the slot size (half of it, rounded down to 64 bytes), and the header records it, so an area read
/// back with another length is not taken for a record. Stores are fenced between the steps (header, payload,
/// commit): on write-combining mappings stores may otherwise reach memory out of order. Nothing here flushes CPU
/// caches: kexec and a warm reset keep them coherent with RAM; no RAM keeps data across a power cut.
/// Thread safety: the methods keep no state, but two threads writing one area race as any two writers do;
/// serialize the writers of an area.
/// </remarks>
public static class PersistentRecord
{
    /// <summary>Bytes of each slot's header.</summary>
    public const int HeaderSize = 64;

    /// <summary>The format version this code writes and reads.</summary>
    public const uint Version = 1;

    /// <summary>"MPHYSREC" as a little-endian word: the first 8 bytes of every header.</summary>
    public const ulong Magic = 0x434552535948504DUL;

    private const uint CommittedFlag = 1;
    private const int MagicOffset = 0;
    private const int VersionOffset = 8;
    private const int FlagsOffset = 12;
    private const int GenerationOffset = 16;
    private const int LengthOffset = 24;
    private const int PayloadCrcOffset = 32;
    private const int SlotSizeOffset = 40;
    private const int HeaderCrcOffset = HeaderSize - sizeof(uint);

    /// <summary>The largest payload an area of <paramref name="areaLength"/> bytes holds (0 if it is too small).</summary>
    public static int Capacity(int areaLength) => Math.Max(0, SlotSize(areaLength) - HeaderSize);

    /// <summary>The area length that holds a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int AreaLength(int payloadLength) => 2 * (HeaderSize + ((payloadLength + HeaderSize - 1) / HeaderSize * HeaderSize));

    /// <summary>Reads both slots and returns the newest committed, intact record.</summary>
    /// <exception cref="ArgumentException">The area cannot hold a record (see <see cref="Capacity"/>).</exception>
    public static RecordReadResult Read(ReadOnlySpan<byte> area)
    {
        int slotSize = RequireSlotSize(area.Length);
        RecordSlot[] slots = [Inspect(area, 0, slotSize), Inspect(area, 1, slotSize)];
        RecordSlot? newest = slots.Where(s => s.State == RecordSlotState.Valid).OrderByDescending(s => s.Generation).Cast<RecordSlot?>().FirstOrDefault();
        if (newest is not { } best)
        {
            return new RecordReadResult(null, 0, slots);
        }

        byte[] payload = area.Slice((best.Index * slotSize) + HeaderSize, best.Length).ToArray();
        return new RecordReadResult(payload, best.Generation, slots);
    }

    /// <summary>Writes <paramref name="payload"/> as the next generation and commits it; returns that generation.</summary>
    public static ulong Write(Span<byte> area, ReadOnlySpan<byte> payload)
    {
        ulong generation = Prepare(area, payload);
        Commit(area, generation);
        return generation;
    }

    /// <summary>
    /// The first half of <see cref="Write"/>: header (not committed) and payload written to the slot that does not
    /// hold the newest valid record. Until <see cref="Commit"/>, <see cref="Read"/> still returns the previous
    /// record and reports this slot as torn: what a crash between the two leaves behind.
    /// </summary>
    /// <returns>The generation written (one more than any generation either slot names).</returns>
    /// <exception cref="ArgumentException">The payload is larger than the area's <see cref="Capacity"/>.</exception>
    public static ulong Prepare(Span<byte> area, ReadOnlySpan<byte> payload)
    {
        int slotSize = RequireSlotSize(area.Length);
        if (payload.Length > slotSize - HeaderSize)
        {
            throw new ArgumentException($"a payload of {payload.Length} bytes does not fit a slot of {slotSize - HeaderSize} bytes " +
                $"(area of {area.Length} bytes)", nameof(payload));
        }

        RecordSlot[] slots = [Inspect(area, 0, slotSize), Inspect(area, 1, slotSize)];
        RecordSlot? newest = slots.Where(s => s.State == RecordSlotState.Valid).OrderByDescending(s => s.Generation).Cast<RecordSlot?>().FirstOrDefault();
        int index = newest is { } valid ? 1 - valid.Index : (slots[0].Generation <= slots[1].Generation ? 0 : 1);
        ulong generation = Math.Max(slots[0].Generation, slots[1].Generation) + 1;
        Span<byte> slot = area.Slice(index * slotSize, slotSize);

        // The header first, uncommitted, so that a crash while the payload is written is seen as a torn write
        // of this generation rather than as garbage.
        WriteHeader(slot[..HeaderSize], generation, payload.Length, Crc32C(payload), slotSize, 0);
        Interlocked.MemoryBarrier();
        payload.CopyTo(slot[HeaderSize..]);
        Interlocked.MemoryBarrier();
        return generation;
    }

    /// <summary>Commits the slot <see cref="Prepare"/> wrote for <paramref name="generation"/>.</summary>
    /// <exception cref="InvalidOperationException">No slot holds that generation uncommitted with an intact payload.</exception>
    public static void Commit(Span<byte> area, ulong generation)
    {
        int slotSize = RequireSlotSize(area.Length);
        for (int index = 0; index < 2; index++)
        {
            Span<byte> slot = area.Slice(index * slotSize, slotSize);
            RecordSlot state = Inspect(area, index, slotSize);
            if (state.State != RecordSlotState.Torn || state.Generation != generation
                || BinaryPrimitives.ReadUInt32LittleEndian(slot[FlagsOffset..]) != 0
                || Crc32C(slot.Slice(HeaderSize, state.Length)) != BinaryPrimitives.ReadUInt32LittleEndian(slot[PayloadCrcOffset..]))
            {
                continue;
            }

            WriteHeader(slot[..HeaderSize], generation, state.Length, BinaryPrimitives.ReadUInt32LittleEndian(slot[PayloadCrcOffset..]),
                slotSize, CommittedFlag);
            Interlocked.MemoryBarrier();
            return;
        }

        throw new InvalidOperationException($"no slot holds generation {generation} prepared and intact: nothing to commit");
    }

    /// <summary>Zeroes both headers: the area then reads as empty.</summary>
    public static void Clear(Span<byte> area)
    {
        int slotSize = RequireSlotSize(area.Length);
        area[..HeaderSize].Clear();
        area.Slice(slotSize, HeaderSize).Clear();
        Interlocked.MemoryBarrier();
    }

    /// <summary>CRC-32C (Castagnoli) of <paramref name="data"/>, as iSCSI and ext4 compute it.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        uint crc = uint.MaxValue;
        ReadOnlySpan<ulong> words = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (ulong w in words)
        {
            crc = BitOperations.Crc32C(crc, BitConverter.IsLittleEndian ? w : BinaryPrimitives.ReverseEndianness(w));
        }

        foreach (byte b in data[(words.Length * sizeof(ulong))..])
        {
            crc = BitOperations.Crc32C(crc, b);
        }

        return ~crc;
    }

    private static int SlotSize(int areaLength) => areaLength / 2 / HeaderSize * HeaderSize;

    private static int RequireSlotSize(int areaLength)
    {
        int slotSize = SlotSize(areaLength);
        return slotSize > HeaderSize
            ? slotSize
            : throw new ArgumentException($"an area of {areaLength} bytes is too small for a record (at least {2 * (HeaderSize + 1)} bytes)");
    }

    private static void WriteHeader(Span<byte> header, ulong generation, int length, uint payloadCrc, int slotSize, uint flags)
    {
        // The magic last: until it is there, a half-written header cannot pass for one.
        BinaryPrimitives.WriteUInt64LittleEndian(header[MagicOffset..], 0);
        Interlocked.MemoryBarrier();
        header[VersionOffset..HeaderCrcOffset].Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(header[VersionOffset..], Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[FlagsOffset..], flags);
        BinaryPrimitives.WriteUInt64LittleEndian(header[GenerationOffset..], generation);
        BinaryPrimitives.WriteUInt64LittleEndian(header[LengthOffset..], (ulong)length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[PayloadCrcOffset..], payloadCrc);
        BinaryPrimitives.WriteUInt64LittleEndian(header[SlotSizeOffset..], (ulong)slotSize);
        Span<byte> withMagic = stackalloc byte[HeaderCrcOffset];
        header[..HeaderCrcOffset].CopyTo(withMagic);
        BinaryPrimitives.WriteUInt64LittleEndian(withMagic, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[HeaderCrcOffset..], Crc32C(withMagic));
        Interlocked.MemoryBarrier();
        BinaryPrimitives.WriteUInt64LittleEndian(header[MagicOffset..], Magic);
    }

    private static RecordSlot Inspect(ReadOnlySpan<byte> area, int index, int slotSize)
    {
        ReadOnlySpan<byte> slot = area.Slice(index * slotSize, slotSize);
        ReadOnlySpan<byte> header = slot[..HeaderSize];
        if (!header.ContainsAnyExcept((byte)0))
        {
            return new RecordSlot(index, RecordSlotState.Empty, 0, 0);
        }

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(header[LengthOffset..]);
        if (BinaryPrimitives.ReadUInt64LittleEndian(header[MagicOffset..]) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[VersionOffset..]) != Version
            || BinaryPrimitives.ReadUInt64LittleEndian(header[SlotSizeOffset..]) != (ulong)slotSize
            || length > (ulong)(slotSize - HeaderSize)
            || Crc32C(header[..HeaderCrcOffset]) != BinaryPrimitives.ReadUInt32LittleEndian(header[HeaderCrcOffset..]))
        {
            return new RecordSlot(index, RecordSlotState.Invalid, 0, 0);
        }

        ulong generation = BinaryPrimitives.ReadUInt64LittleEndian(header[GenerationOffset..]);
        bool committed = (BinaryPrimitives.ReadUInt32LittleEndian(header[FlagsOffset..]) & CommittedFlag) != 0;
        bool intact = Crc32C(slot.Slice(HeaderSize, (int)length)) == BinaryPrimitives.ReadUInt32LittleEndian(header[PayloadCrcOffset..]);
        return new RecordSlot(index, committed && intact ? RecordSlotState.Valid : RecordSlotState.Torn, generation, (int)length);
    }
}
