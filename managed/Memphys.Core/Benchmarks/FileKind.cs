using Memphys.Native;

namespace Memphys.Benchmarks;

/// <summary>A shared file mapping at a file offset: /dev/mem and device-dax.</summary>
internal abstract class FileKind(string name, string group, ulong pageSize) : BenchKind(name, group, pageSize)
{
    private SafeFileHandle? _fd;

    /// <summary>The node opened by <see cref="Open"/>.</summary>
    protected string? FilePath { get; private set; }

    /// <summary>The file offset mapped.</summary>
    protected long FileOffset { get; set; }

    /// <summary>Opens <paramref name="path"/> read-write.</summary>
    protected void Open(string path)
    {
        FilePath = path;
        _fd = FileDescriptor.Open(path, Interop.Libc.O_RDWR);
    }

    /// <inheritdoc/>
    public override MemphysMapping Map(long length) =>
        Wrap(AlignedMapping.Map(length, (int)MapProtection.ReadWrite, Interop.Libc.MAP_SHARED, _fd, FileOffset, PageSize,
            (ulong)FileOffset, null, FilePath), FilePath);

    /// <inheritdoc/>
    protected override void Dispose(bool disposing) => _fd?.Dispose();
}
