namespace Memphys.Verification;

/// <summary>
/// One named check with a structured result: its status, a one-line detail, and the first
/// <see cref="MaxRecordedFailures"/> failures (one line each) out of <see cref="FailureCount"/>.
/// The CLI prints checks; the device tests assert them.
/// </summary>
/// <remarks>Not thread-safe: one thread records a check; read it once it is complete.</remarks>
public sealed class Check(string name)
{
    /// <summary>How many failure lines are kept; the rest are only counted.</summary>
    public const int MaxRecordedFailures = 20;

    private readonly List<string> _failures = [];
    private bool _skipped;

    /// <summary>What is checked, e.g. <c>remap: every page present right after mmap</c>.</summary>
    public string Name { get; } = name;

    /// <summary>Passed, failed or skipped.</summary>
    public CheckStatus Status => _skipped ? CheckStatus.Skipped : FailureCount == 0 ? CheckStatus.Passed : CheckStatus.Failed;

    /// <summary>True when the check ran and every expectation held; false when it failed <em>or was skipped</em>.</summary>
    public bool Passed => Status == CheckStatus.Passed;

    /// <summary>True when the check ran and at least one expectation failed.</summary>
    public bool Failed => Status == CheckStatus.Failed;

    /// <summary>True when the check did not run here (the reason is in <see cref="Detail"/>).</summary>
    public bool Skipped => Status == CheckStatus.Skipped;

    /// <summary>A one-line summary of what was found (or why the check was skipped).</summary>
    public string Detail { get; private set; } = "";

    /// <summary>
    /// Memory types and sizes of the present entries a page-table check saw, e.g. <c>WB 4K</c> or
    /// <c>WB 2M x512, WB 4K x3</c>; empty for other checks.
    /// </summary>
    public string MemoryTypes { get; internal set; } = "";

    /// <summary>The first failures, one line each.</summary>
    public IReadOnlyList<string> Failures => _failures;

    /// <summary>All failures, recorded or not.</summary>
    public long FailureCount { get; private set; }

    /// <summary>Records a failure.</summary>
    public void Fail(string failure)
    {
        FailureCount++;
        if (_failures.Count < MaxRecordedFailures)
        {
            _failures.Add(failure);
        }
    }

    /// <summary>Records <paramref name="failure"/> unless <paramref name="condition"/> holds; returns the condition.</summary>
    public bool Expect(bool condition, string failure)
    {
        if (!condition)
        {
            Fail(failure);
        }

        return condition;
    }

    /// <summary>Appends <paramref name="detail"/> to <see cref="Detail"/> (separated by <c>; </c>).</summary>
    public Check AddDetail(string detail)
    {
        Detail = Detail.Length == 0 ? detail : $"{Detail}; {detail}";
        return this;
    }

    /// <summary>Marks the check skipped with <paramref name="reason"/>.</summary>
    public Check Skip(string reason)
    {
        _skipped = true;
        Detail = reason;
        return this;
    }

    /// <summary>Copies the failures of <paramref name="other"/> into this check, each prefixed with <paramref name="prefix"/>.</summary>
    public void Include(Check other, string prefix)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (string f in other.Failures)
        {
            Fail($"{prefix}{f}");
        }

        FailureCount += other.FailureCount - other.Failures.Count;
    }

    /// <summary>The name, the status and the recorded failures, on as many lines.</summary>
    public override string ToString()
    {
        string status = Status switch
        {
            CheckStatus.Passed => "ok",
            CheckStatus.Skipped => "skip",
            _ => $"FAIL ({FailureCount})",
        };
        string more = FailureCount > _failures.Count ? $"\n  ... {FailureCount - _failures.Count} more" : "";
        return $"{Name}: {status}{(Detail.Length > 0 ? $" ({Detail})" : "")}" +
            string.Concat(_failures.Select(f => $"\n  {f}")) + more;
    }
}
