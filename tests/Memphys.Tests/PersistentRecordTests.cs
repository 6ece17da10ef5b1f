using System.Buffers.Binary;
using System.Text;
using Memphys.Persistence;

namespace Memphys.Tests;

/// <summary>
/// <see cref="PersistentRecord"/> on ordinary memory: what a program finds after a reboot when the last write
/// finished, was interrupted at each step, or when the area held something else.
/// </summary>
public sealed class PersistentRecordTests
{
    private const int AreaLength = 4096;

    private static byte[] Payload(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void AZeroedAreaIsEmptyAndHoldsNoRecord()
    {
        RecordReadResult r = PersistentRecord.Read(new byte[AreaLength]);
        Assert.False(r.HasRecord);
        Assert.All(r.Slots, s => Assert.Equal(RecordSlotState.Empty, s.State));
        Assert.False(r.TornWriteSeen);
        Assert.False(r.GarbageSeen);
    }

    [Fact]
    public void WritesAlternateSlotsAndTheNewestGenerationWins()
    {
        byte[] area = new byte[AreaLength];
        Assert.Equal(1UL, PersistentRecord.Write(area, Payload("first")));
        Assert.Equal(2UL, PersistentRecord.Write(area, Payload("second")));
        Assert.Equal(3UL, PersistentRecord.Write(area, Payload("third")));
        RecordReadResult r = PersistentRecord.Read(area);
        Assert.Equal("third", Encoding.UTF8.GetString(r.Payload!));
        Assert.Equal(3UL, r.Generation);
        Assert.Equal([RecordSlotState.Valid, RecordSlotState.Valid], r.Slots.Select(s => s.State));
        Assert.Equal([3UL, 2UL], r.Slots.Select(s => s.Generation));
    }

    [Fact]
    public void AnUncommittedWriteLeavesThePreviousRecordAndIsReportedTorn()
    {
        byte[] area = new byte[AreaLength];
        PersistentRecord.Write(area, Payload("kept"));
        ulong prepared = PersistentRecord.Prepare(area, Payload("interrupted before commit"));
        RecordReadResult r = PersistentRecord.Read(area);
        Assert.Equal("kept", Encoding.UTF8.GetString(r.Payload!));
        Assert.Equal(1UL, r.Generation);
        Assert.True(r.TornWriteSeen);
        Assert.Contains(r.Slots, s => s.State == RecordSlotState.Torn && s.Generation == prepared);

        PersistentRecord.Commit(area, prepared);
        Assert.Equal("interrupted before commit", Encoding.UTF8.GetString(PersistentRecord.Read(area).Payload!));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(99)]
    public void APayloadTornAtAnyByteIsNeverTakenForTheNewRecord(int tornAt)
    {
        // A committed record whose payload then changed (a write of the next generation's bytes that stopped
        // before its header was rewritten, or a corrupted byte): the CRC tells.
        byte[] area = new byte[AreaLength];
        PersistentRecord.Write(area, Payload("generation one"));
        byte[] next = new byte[100];
        Random.Shared.NextBytes(next);
        PersistentRecord.Write(area, next);
        RecordSlot newest = PersistentRecord.Read(area).Slots.Single(s => s.Generation == 2);
        area[(newest.Index * (AreaLength / 2)) + PersistentRecord.HeaderSize + tornAt] ^= 0x5a;

        RecordReadResult r = PersistentRecord.Read(area);
        Assert.Equal("generation one", Encoding.UTF8.GetString(r.Payload!));
        Assert.Equal(RecordSlotState.Torn, r.Slots[newest.Index].State);
    }

    [Fact]
    public void APrepareAfterATornWriteNeverOverwritesTheOnlyValidRecord()
    {
        byte[] area = new byte[AreaLength];
        PersistentRecord.Write(area, Payload("one"));
        PersistentRecord.Prepare(area, Payload("two, torn"));
        ulong third = PersistentRecord.Write(area, Payload("three"));
        Assert.Equal(3UL, third);
        Assert.Equal("three", Encoding.UTF8.GetString(PersistentRecord.Read(area).Payload!));
        PersistentRecord.Prepare(area, Payload("four, torn"));
        Assert.Equal("three", Encoding.UTF8.GetString(PersistentRecord.Read(area).Payload!));
    }

    [Fact]
    public void RandomBytesAreGarbageNotARecord()
    {
        byte[] area = new byte[AreaLength];
        new Random(26).NextBytes(area);
        RecordReadResult r = PersistentRecord.Read(area);
        Assert.False(r.HasRecord);
        Assert.True(r.GarbageSeen);
        Assert.All(r.Slots, s => Assert.Equal(RecordSlotState.Invalid, s.State));

        // Writing over garbage works, and the garbage slot stays reported as such until it is used.
        PersistentRecord.Write(area, Payload("fresh"));
        r = PersistentRecord.Read(area);
        Assert.Equal("fresh", Encoding.UTF8.GetString(r.Payload!));
        Assert.True(r.GarbageSeen);
    }

    [Theory]
    [InlineData(0)]   // the magic
    [InlineData(8)]   // the version
    [InlineData(16)]  // the generation
    [InlineData(24)]  // the length
    [InlineData(40)]  // the slot size
    [InlineData(60)]  // the header CRC
    public void AnyChangedHeaderFieldMakesTheSlotInvalid(int offset)
    {
        byte[] area = new byte[AreaLength];
        PersistentRecord.Write(area, Payload("one"));
        PersistentRecord.Write(area, Payload("two"));
        RecordSlot newest = PersistentRecord.Read(area).Slots.Single(s => s.Generation == 2);
        area[(newest.Index * (AreaLength / 2)) + offset] ^= 1;
        RecordReadResult r = PersistentRecord.Read(area);
        Assert.Equal(RecordSlotState.Invalid, r.Slots[newest.Index].State);
        Assert.Equal("one", Encoding.UTF8.GetString(r.Payload!));
    }

    [Fact]
    public void AnAreaReadBackWithAnotherLengthHoldsNoRecord()
    {
        byte[] area = new byte[AreaLength];
        PersistentRecord.Write(area, Payload("sized"));
        Assert.False(PersistentRecord.Read(area.AsSpan(0, AreaLength - 128)).HasRecord);
        Assert.True(PersistentRecord.Read(area).HasRecord);
    }

    [Fact]
    public void SizesAndLimits()
    {
        Assert.Equal(AreaLength / 2 - PersistentRecord.HeaderSize, PersistentRecord.Capacity(AreaLength));
        Assert.Equal(0, PersistentRecord.Capacity(100));
        Assert.Equal(256, PersistentRecord.AreaLength(64));
        Assert.Equal(64, PersistentRecord.Capacity(PersistentRecord.AreaLength(64)));
        Assert.Throws<ArgumentException>(() => PersistentRecord.Read(new byte[128]));
        Assert.Throws<ArgumentException>(() => PersistentRecord.Write(new byte[256], new byte[65]));
        Assert.Throws<InvalidOperationException>(() => PersistentRecord.Commit(new byte[256], 1));
        PersistentRecord.Write(new byte[256], new byte[64]);
    }

    [Fact]
    public void ClearEmptiesBothSlots()
    {
        byte[] area = new byte[AreaLength];
        PersistentRecord.Write(area, Payload("one"));
        PersistentRecord.Write(area, Payload("two"));
        PersistentRecord.Clear(area);
        Assert.All(PersistentRecord.Read(area).Slots, s => Assert.Equal(RecordSlotState.Empty, s.State));
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        // The CRC-32C check value of "123456789" (RFC 3720 / the CRC catalogue).
        Assert.Equal(0xE3069283u, PersistentRecord.Crc32C("123456789"u8));
        Assert.Equal(0u, PersistentRecord.Crc32C([]));
        Assert.Equal("MPHYSREC", Encoding.ASCII.GetString(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(
            BinaryPrimitives.ReverseEndianness(PersistentRecord.Magic)))));
    }
}
