using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary><c>struct memphys_page_query</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemphysPageQueryNative
{
    public ulong Address;
    public ulong Pfn;
    public uint Flags;
    public uint MemType;
    public ulong EntrySize;
    public ulong Reserved;
}
