namespace Memphys.Persistence;

/// <summary>One slot of a <see cref="PersistentRecord"/> area as read back.</summary>
/// <param name="Index">0 or 1.</param>
/// <param name="State">What the slot holds.</param>
/// <param name="Generation">The generation its header names (0 when <see cref="State"/> is Empty or Invalid).</param>
/// <param name="Length">The payload length its header names (0 when Empty or Invalid).</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public readonly record struct RecordSlot(int Index, RecordSlotState State, ulong Generation, int Length);
