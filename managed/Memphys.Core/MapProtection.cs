namespace Memphys;

/// <summary>Protection of a mapping.</summary>
[Flags]
public enum MapProtection
{
    /// <summary>No access.</summary>
    None = 0,

    /// <summary>Readable.</summary>
    Read = 1,

    /// <summary>Writable.</summary>
    Write = 2,

    /// <summary>Readable and writable.</summary>
    ReadWrite = Read | Write,
}
