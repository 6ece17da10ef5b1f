using System.Runtime.CompilerServices;

namespace Memphys.Native;

/// <summary>Three reserved <c>__u64</c>s.</summary>
[InlineArray(3)]
internal struct Reserved3
{
    private ulong _element0;
}
