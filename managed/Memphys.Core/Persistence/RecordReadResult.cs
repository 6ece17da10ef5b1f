namespace Memphys.Persistence;

/// <summary>What <see cref="PersistentRecord.Read"/> found: the newest valid record, if any, and both slots.</summary>
/// <param name="Payload">A copy of the newest valid payload; null when no slot is valid.</param>
/// <param name="Generation">Its generation (0 when there is none).</param>
/// <param name="Slots">Both slots, index 0 first.</param>
/// <remarks>Immutable once read (the payload array is a copy): safe to share between threads.</remarks>
public sealed record RecordReadResult(byte[]? Payload, ulong Generation, IReadOnlyList<RecordSlot> Slots)
{
    /// <summary>True when a committed, intact record was found.</summary>
    public bool HasRecord => Payload is not null;

    /// <summary>True when a slot shows an interrupted write (newer or not than the record returned).</summary>
    public bool TornWriteSeen => Slots.Any(s => s.State == RecordSlotState.Torn);

    /// <summary>True when a slot is neither empty nor a record: the area held something else.</summary>
    public bool GarbageSeen => Slots.Any(s => s.State == RecordSlotState.Invalid);
}
