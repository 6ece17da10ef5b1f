namespace Memphys.Tests;

/// <summary>A zero-filled temporary file to map as a register window; deleted on dispose.</summary>
internal sealed class TempRegisterFile : IDisposable
{
    public TempRegisterFile(long length)
    {
        Path = System.IO.Path.GetTempFileName();
        using var stream = new FileStream(Path, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    public string Path { get; }

    public void Dispose() => File.Delete(Path);
}
