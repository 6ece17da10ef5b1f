namespace Memphys.Verification;

/// <summary>
/// What the driver maps, and counts, when pages of a fresh fault-method mapping with 4 KiB faults are touched one
/// after the other: a touch of an absent page is one fault that maps that page and the absent pages of the aligned
/// window of <c>fault-around</c> pages holding its virtual address, clipped to the mapping (which lies inside the region).
/// </summary>
internal sealed class FaultAroundModel
{
    private readonly bool[] _present;
    private readonly ulong _baseAddress;
    private readonly ulong _pageSize;
    private readonly ulong _windowBytes;

    /// <param name="baseAddress">The mapping's start address.</param>
    /// <param name="pages">The mapping's pages.</param>
    /// <param name="faultAround">The mapping's fault-around (pages per fault; 1 = off).</param>
    /// <param name="pageSize">The page size.</param>
    public FaultAroundModel(ulong baseAddress, long pages, uint faultAround, long pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfZero(faultAround);
        _present = new bool[pages];
        _baseAddress = baseAddress;
        _pageSize = (ulong)pageSize;
        _windowBytes = faultAround * (ulong)pageSize;
    }

    /// <summary>Faults the touches so far cost (the driver's pte_faults).</summary>
    public ulong Faults { get; private set; }

    /// <summary>Pages mapped around those faults (the driver's prefaulted).</summary>
    public ulong Prefaulted { get; private set; }

    /// <summary>Whether page <paramref name="page"/> of the mapping is mapped after the touches so far.</summary>
    public bool IsPresent(long page) => _present[page];

    /// <summary>Touches every <paramref name="stride"/>-th page from <paramref name="first"/> on, in order.</summary>
    public void Touch(long first, long stride = 1)
    {
        for (long page = first; page < _present.Length; page += stride)
        {
            Touch(page);
        }
    }

    private void Touch(long page)
    {
        if (_present[page])
        {
            return;
        }

        Faults++;
        _present[page] = true;
        ulong address = _baseAddress + (ulong)page * _pageSize;
        ulong windowStart = address - address % _windowBytes;
        long first = ((long)windowStart - (long)_baseAddress) / (long)_pageSize; // negative when the window starts before the mapping
        long end = Math.Min(_present.Length, first + (long)(_windowBytes / _pageSize));
        for (long p = Math.Max(0, first); p < end; p++)
        {
            if (!_present[p])
            {
                _present[p] = true;
                Prefaulted++;
            }
        }
    }
}
