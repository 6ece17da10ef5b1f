using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary><c>struct memphys_setting</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MemphysSettingNative
{
    public ulong Value;
    public ulong Reserved;
}
