using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary><c>struct memphys_info</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemphysInfoNative
{
    public uint Size;
    public uint Version;
    public uint Index;
    public uint PageSize;
    public ulong PhysBase;
    public ulong RegionSize;
    public uint Methods;
    public uint CachingModes;
    public uint FaultSizes;
    public uint Method;
    public uint Caching;
    public uint Reserved0;
    public ulong MaxFaultSize;
    public uint FaultAround;
    public uint PagesErrno;
    public Reserved3 Reserved;
}
