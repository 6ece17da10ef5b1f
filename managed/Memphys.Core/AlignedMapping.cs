using Memphys.Native;

namespace Memphys;

/// <summary>mmap at a virtual address congruent to a physical one modulo an alignment (so huge entries fit).</summary>
internal static class AlignedMapping
{
    /// <summary>
    /// Reserves length + alignment of address space, maps inside it with MAP_FIXED at an address congruent to
    /// <paramref name="physical"/> modulo <paramref name="alignment"/>, then gives back the unused head and tail.
    /// <paramref name="fd"/> null maps anonymous memory.
    /// </summary>
    internal static SafeMappingHandle Map(long length, int protection, int flags, SafeFileHandle? fd, long offset,
        ulong alignment, ulong physical, Func<int, Exception>? onError, string? path)
    {
        nuint reserveLength = (nuint)((ulong)length + alignment);
        nint reserve = Interop.Libc.MMapAnonymous(0, reserveLength, Interop.Libc.PROT_NONE,
            Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, -1, 0);
        if (reserve == Interop.Libc.MAP_FAILED)
        {
            throw Interop.Errors.LastError($"mmap reserve 0x{reserveLength:x}", path);
        }

        ulong start = (ulong)reserve;
        ulong want = physical % alignment;
        ulong target = start - (start % alignment) + want;
        if (target < start)
        {
            target += alignment;
        }

        SafeMappingHandle handle;
        try
        {
            handle = SafeMappingHandle.Map((nint)target, (nuint)length, protection, flags | Interop.Libc.MAP_FIXED, fd, offset, onError);
        }
        catch
        {
            _ = Interop.Libc.MUnmap(reserve, reserveLength);
            throw;
        }

        ulong end = target + (ulong)length;
        ulong reserveEnd = start + reserveLength;
        if (target > start)
        {
            _ = Interop.Libc.MUnmap(reserve, (nuint)(target - start));
        }

        if (reserveEnd > end)
        {
            _ = Interop.Libc.MUnmap((nint)end, (nuint)(reserveEnd - end));
        }

        return handle;
    }
}
