using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary><c>struct memphys_stats</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemphysStatsNative
{
    public uint Size;
    public uint Version;
    public ulong MmapCalls;
    public ulong BytesRemapped;
    public ulong PteFaults;
    public ulong PmdFaults;
    public ulong PudFaults;
    public ulong FallbackFaults;
    public ulong Refused;
    public ulong Prefaulted;
    public Reserved3 Reserved;
}
