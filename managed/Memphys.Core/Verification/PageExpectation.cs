namespace Memphys.Verification;

/// <summary>
/// What the page table entries of a device mapping must look like, page by page. Every present page of a shared
/// mapping must map PFN <c>region base PFN + mapping offset / page size + page index</c>; the properties add
/// conditions. New conditions (the memory type of each entry, the size of huge entries) are added as further
/// init properties, so code written against this type keeps compiling.
/// </summary>
/// <remarks>Immutable (init-only): safe to share between threads.</remarks>
public sealed record PageExpectation
{
    /// <summary>Every page present.</summary>
    public static PageExpectation AllPresent { get; } = new();

    /// <summary>No page present (a fresh fault-method mapping).</summary>
    public static PageExpectation NonePresent { get; } = new() { Present = _ => false, Description = "no page present" };

    /// <summary>Exactly the pages for which <paramref name="present"/> is true are present.</summary>
    public static PageExpectation PresentWhere(Func<long, bool> present, string description) =>
        new() { Present = present, Description = description };

    /// <summary>Which pages (by index in the mapping) must be present; the others must be absent.</summary>
    public Func<long, bool> Present { get; init; } = _ => true;

    /// <summary>Present pages must be writable entries (a shared read-write mapping).</summary>
    public bool Writable { get; init; }

    /// <summary>Present pages must be read-only entries (a read-only or not yet written private mapping).</summary>
    public bool ReadOnly { get; init; }

    /// <summary>Words for messages, e.g. <c>every other page present</c>.</summary>
    public string Description { get; init; } = "every page present";
}
