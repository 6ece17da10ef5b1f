using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary><c>struct memphys_dmabuf_export</c>, the argument of MEMPHYS_IOC_EXPORT_DMABUF.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemphysDmaBufExportNative
{
    public ulong Offset;
    public ulong Length;
    public uint Flags;
    public int Fd;
    public ulong Reserved;
}
