using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary><c>struct memphys_sync</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemphysSyncNative
{
    public ulong Offset;
    public ulong Length;
    public uint Direction;
    public uint Flags;
    public uint Result;
    public uint Reserved;
}
