using Memphys.Native;

namespace Memphys;

/// <summary>Page-level inspection of this process's address space.</summary>
internal static unsafe class PageInspector
{
    /// <summary>Path of this process's pagemap.</summary>
    public const string SelfPagemap = "/proc/self/pagemap";

    /// <summary>Residency of each page in [<paramref name="address"/>, +<paramref name="length"/>) via mincore(2).</summary>
    /// <param name="address">Page-aligned start address.</param>
    /// <param name="length">Length in bytes.</param>
    public static bool[] GetResidency(nint address, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long pageSize = Environment.SystemPageSize;
        long pages = (length + pageSize - 1) / pageSize;
        byte[] vector = new byte[pages];
        fixed (byte* v = vector)
        {
            Interop.Errors.ThrowIfNegative(Interop.Libc.MinCore(address, (nuint)length, v), $"mincore 0x{address:x}+0x{length:x}");
        }

        var result = new bool[pages];
        for (long i = 0; i < pages; i++)
        {
            result[i] = (vector[i] & 1) != 0;
        }

        return result;
    }

    /// <summary>Number of resident pages in the range (see <see cref="GetResidency"/>).</summary>
    public static long CountResident(nint address, long length) => GetResidency(address, length).LongCount(r => r);

    /// <summary>
    /// Reads the pagemap entry of each page in [<paramref name="address"/>, +<paramref name="length"/>).
    /// PFNs read as zero without CAP_SYS_ADMIN.
    /// </summary>
    public static PagemapEntry[] ReadPagemap(nint address, long length, string pagemapPath = SelfPagemap)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        long pageSize = Environment.SystemPageSize;
        long pages = (length + pageSize - 1) / pageSize;
        byte[] raw = new byte[checked(pages * sizeof(ulong))];
        long fileOffset = checked((long)((ulong)address / (ulong)pageSize * sizeof(ulong)));
        using (SafeFileHandle file = File.OpenHandle(pagemapPath, FileMode.Open, FileAccess.Read))
        {
            int done = 0;
            while (done < raw.Length)
            {
                int n = RandomAccess.Read(file, raw.AsSpan(done), fileOffset + done);
                if (n <= 0)
                {
                    throw new IOException($"{pagemapPath}: short read at 0x{fileOffset + done:x}");
                }

                done += n;
            }
        }

        return ParsePagemap(raw);
    }

    /// <summary>Parses raw little-endian pagemap bytes (8 per page) into entries.</summary>
    public static PagemapEntry[] ParsePagemap(ReadOnlySpan<byte> raw)
    {
        if (raw.Length % sizeof(ulong) != 0)
        {
            throw new ArgumentException("pagemap data must be a multiple of 8 bytes", nameof(raw));
        }

        var entries = new PagemapEntry[raw.Length / sizeof(ulong)];
        for (int i = 0; i < entries.Length; i++)
        {
            entries[i] = new PagemapEntry(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(raw.Slice(i * 8, 8)));
        }

        return entries;
    }

    /// <summary>
    /// The <c>VmFlags</c> of the mapping (VMA) containing <paramref name="address"/>, from <c>/proc/self/smaps</c>
    /// (two-letter codes such as <c>pf</c> for VM_PFNMAP, <c>mm</c> for VM_MIXEDMAP, <c>io</c> for VM_IO);
    /// empty when no mapping contains it.
    /// </summary>
    public static IReadOnlySet<string> GetVmaFlags(nint address)
    {
        ulong target = (ulong)address;
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                ulong start = ulong.Parse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                ulong end = ulong.Parse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                inside = target >= start && target < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            }
        }

        return new HashSet<string>();
    }

    private static bool IsHex(ReadOnlySpan<char> text) => !text.IsEmpty && !text.ContainsAnyExcept("0123456789abcdef");

    /// <summary>True when the effective user is root (PFNs in pagemap and the device need it).</summary>
    public static bool IsRoot => Interop.Libc.GetEUid() == 0;
}
