namespace Memphys.Verification;

/// <summary>
/// The faults that touching every page of a fault-method mapping must take: each block of an installable huge size
/// (largest first, up to the file's max fault size) that is aligned in virtual space and lies wholly inside the
/// mapping takes one PUD or PMD fault; every other page one PTE fault. (The mapping's virtual address is congruent
/// to its physical address modulo the block size, see <see cref="MemphysDevice.Map"/>'s alignment.)
/// </summary>
/// <param name="PteFaults">4 KiB faults.</param>
/// <param name="PmdFaults">2 MiB faults.</param>
/// <param name="PudFaults">1 GiB faults.</param>
/// <remarks>An immutable value: safe to share between threads.</remarks>
public readonly record struct HugeFaultPlan(ulong PteFaults, ulong PmdFaults, ulong PudFaults)
{
    /// <summary>The plan for a mapping at <paramref name="address"/> of <paramref name="length"/> bytes.</summary>
    /// <param name="address">Virtual start address.</param>
    /// <param name="length">Length in bytes (whole pages).</param>
    /// <param name="sizes">Fault sizes the kernel can install.</param>
    /// <param name="maxFaultSize">The file's max fault size.</param>
    /// <param name="pageSize">Page size.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> or <paramref name="maxFaultSize"/> is negative, or <paramref name="pageSize"/> is not positive.</exception>
    public static HugeFaultPlan For(ulong address, long length, FaultSizes sizes, long maxFaultSize, long pageSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(maxFaultSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageSize);
        ulong end = address + (ulong)length;
        ulong covered = 0, pmd = 0, pud = 0;
        var taken = new List<(ulong Start, ulong End)>();
        foreach ((ulong size, FaultSizes flag) in new[] { ((ulong)FaultSize.Pud, FaultSizes.Pud1G), ((ulong)FaultSize.Pmd, FaultSizes.Pmd2M) })
        {
            if (size > (ulong)maxFaultSize || !sizes.HasFlag(flag))
            {
                continue;
            }

            for (ulong b = (address + size - 1) / size * size; b + size <= end; b += size)
            {
                if (taken.Any(t => b >= t.Start && b < t.End))
                {
                    continue;
                }

                taken.Add((b, b + size));
                covered += size;
                if (size == FaultSize.Pud)
                {
                    pud++;
                }
                else
                {
                    pmd++;
                }
            }
        }

        return new HugeFaultPlan(((ulong)length - covered) / (ulong)pageSize, pmd, pud);
    }

    /// <summary>Records a failure in <paramref name="check"/> for each counter of <paramref name="found"/> that differs.</summary>
    public void Verify(Check check, MemphysStats found)
    {
        ArgumentNullException.ThrowIfNull(check);
        check.AddDetail($"expected pte {PteFaults} pmd {PmdFaults} pud {PudFaults}; found pte {found.PteFaults} pmd {found.PmdFaults} " +
            $"pud {found.PudFaults} fallback {found.FallbackFaults}");
        check.Expect(found.PudFaults == PudFaults, $"pud_faults: expected {PudFaults}, found {found.PudFaults}");
        check.Expect(found.PmdFaults == PmdFaults, $"pmd_faults: expected {PmdFaults}, found {found.PmdFaults}");
        check.Expect(found.PteFaults == PteFaults, $"pte_faults: expected {PteFaults}, found {found.PteFaults}");
    }
}
