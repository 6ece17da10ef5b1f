using Memphys.Native;

namespace Memphys.Tests;

public sealed class ErrnoTests
{
    [Theory]
    [InlineData(1, "EPERM")]
    [InlineData(2, "ENOENT")]
    [InlineData(13, "EACCES")]
    [InlineData(14, "EFAULT")]
    [InlineData(22, "EINVAL")]
    [InlineData(25, "ENOTTY")]
    [InlineData(9999, "errno 9999")]
    public void NamesErrno(int errno, string name) => Assert.Equal(name, Interop.Errors.Name(errno));

    [Fact]
    public void MessageUsesStrerrorWithoutDetail()
    {
        var ex = new MemphysException(Interop.Errors.ENOENT, "open", "/dev/memphys9");
        Assert.Equal("/dev/memphys9: open: No such file or directory (ENOENT)", ex.Message);
        Assert.True(ex.IsAccessError);
        Assert.Equal("ENOENT", ((IMemphysError)ex).ErrnoName);
    }

    [Fact]
    public void MessageUsesDetailWhenGiven()
    {
        var ex = new MemphysException(Interop.Errors.EINVAL, "mmap 0x40000000+0x80000000", "/dev/memphys0", "past end of 1 GiB region");
        Assert.Equal("/dev/memphys0: mmap 0x40000000+0x80000000 past end of 1 GiB region (EINVAL)", ex.Message);
        Assert.False(ex.IsAccessError);
    }

    [Fact]
    public void OpenMissingDeviceThrowsEnoent()
    {
        var ex = Assert.Throws<MemphysException>(() => MemphysDevice.Open("/nonexistent/memphys0"));
        Assert.Equal(Interop.Errors.ENOENT, ((IMemphysError)ex).Errno);
        Assert.Equal("/nonexistent/memphys0", ((IMemphysError)ex).DevicePath);
        Assert.DoesNotContain("\n", ex.Message);
    }

    [Fact]
    public void IoctlOnNonDeviceThrowsEnotty()
    {
        using MemphysDevice dev = MemphysDevice.Open("/dev/null");
        var ex = Assert.Throws<MemphysException>(() => dev.GetInfo());
        Assert.Equal(Interop.Errors.ENOTTY, ((IMemphysError)ex).Errno);
        Assert.Equal("/dev/null: ioctl GET_INFO: Inappropriate ioctl for device (ENOTTY)", ex.Message);
    }

    [Fact]
    public void PreadOnDirectoryFailsWithErrno()
    {
        using MemphysDevice dev = MemphysDevice.Open("/", readOnly: true);
        var ex = Assert.Throws<MemphysException>(() => dev.Read(0, new byte[8]));
        Assert.Equal("EISDIR", ((IMemphysError)ex).ErrnoName);
    }

    [Fact]
    public void DisposedDescriptorIsClosed()
    {
        MemphysDevice dev = MemphysDevice.Open("/dev/null");
        SafeFileHandle fd = dev.Handle;
        Assert.False(fd.IsInvalid);
        dev.Dispose();
        Assert.True(fd.IsClosed);
    }
}
