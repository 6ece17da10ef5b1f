namespace Memphys.Verification;

/// <summary>Counts of a mapping's page table entries (<see cref="PageTableVerifier.Summarize"/>).</summary>
/// <param name="Pages">Pages in the mapping.</param>
/// <param name="Present">Pages with a present entry.</param>
/// <param name="Writable">Present pages with a writable entry.</param>
/// <param name="WrongPfn">Present pages mapping another PFN than region base PFN + offset / page size + index.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct PageTableSummary(long Pages, long Present, long Writable, long WrongPfn);
