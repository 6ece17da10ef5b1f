using Memphys.Pci;

namespace Memphys.Tests;

/// <summary><see cref="MmioWindow"/> over a mapped file: exact-width accesses, bounds and alignment, disposal.</summary>
public sealed class MmioWindowTests
{
    [Fact]
    public void StoresLandInTheFileAtTheirOffsetAndWidth()
    {
        using var file = new TempRegisterFile(8192);
        using (MmioWindow window = MmioWindow.Map(file.Path, 4096, 4096))
        {
            Assert.Equal(4096, window.Length);
            window.Write32(0x04, 0xdeadbeef);
            window.Write64(0x98, 0x0123456789abcdef);
            Assert.Equal(0xdeadbeefu, window.Read32(0x04));
            Assert.Equal(0x0123456789abcdefUL, window.Read64(0x98));
            Assert.Equal(0x89abcdefu, window.Read32(0x98));
        }

        byte[] bytes = File.ReadAllBytes(file.Path);
        Assert.Equal(0xdeadbeefu, BitConverter.ToUInt32(bytes, 4096 + 0x04));
        Assert.Equal(0x0123456789abcdefUL, BitConverter.ToUInt64(bytes, 4096 + 0x98));
        Assert.Equal(0u, BitConverter.ToUInt32(bytes, 0x04));
    }

    [Theory]
    [InlineData(-4L)]
    [InlineData(2L)]
    [InlineData(4096L)]
    [InlineData(4092L)] // a 64-bit access there would run past the end
    public void RefusesMisalignedOrOutsideOffsets(long offset)
    {
        using var file = new TempRegisterFile(4096);
        using MmioWindow window = MmioWindow.Map(file.Path, 0, 4096);
        Assert.Throws<ArgumentOutOfRangeException>(() => window.Read64(offset));
        Assert.Throws<ArgumentOutOfRangeException>(() => window.Write64(offset, 1));
        if (offset % 4 != 0 || offset < 0 || offset >= 4096)
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => window.Read32(offset));
        }
    }

    [Fact]
    public void AccessAfterDisposeThrows()
    {
        using var file = new TempRegisterFile(4096);
        MmioWindow window = MmioWindow.Map(file.Path, 0, 4096);
        window.Dispose();
        Assert.Throws<ObjectDisposedException>(() => window.Read32(0));
    }

    [Fact]
    public void MapFailureKeepsTheErrnoAndPath()
    {
        var e = Assert.Throws<MemphysException>(() => MmioWindow.Map("/nonexistent/resource0", 0, 4096));
        Assert.Equal("ENOENT", ((IMemphysError)e).ErrnoName);
        Assert.Contains("/nonexistent/resource0", e.Message);
    }
}
