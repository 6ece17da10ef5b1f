namespace Memphys.Persistence;

/// <summary>What one slot of a <see cref="PersistentRecord"/> area holds after a reboot.</summary>
public enum RecordSlotState
{
    /// <summary>Every header byte is zero: never written (or cleared).</summary>
    Empty,

    /// <summary>Header and payload checksums match and the record was committed.</summary>
    Valid,

    /// <summary>
    /// The header is intact but the write it describes did not finish: not committed, or a payload that no longer
    /// matches its checksum. The slot keeps nothing usable; the other slot holds the previous generation.
    /// </summary>
    Torn,

    /// <summary>Neither empty nor a record header of this format: leftover data or garbage after a cold boot.</summary>
    Invalid,
}
