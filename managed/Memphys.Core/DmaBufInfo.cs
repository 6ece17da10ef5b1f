using System.Globalization;

namespace Memphys;

/// <summary>
/// A dma-buf descriptor as <c>/proc/self/fdinfo/FD</c> shows it: the dma-buf's size, its inode (the same for every
/// descriptor of one dma-buf), the exporter's name, how many files refer to it, and the open flags.
/// </summary>
/// <param name="Size">Bytes (<c>size:</c>).</param>
/// <param name="Inode">The dma-buf's inode number (<c>ino:</c>).</param>
/// <param name="ExporterName">The exporting driver (<c>exp_name:</c>), <c>memphys</c> for memphys exports.</param>
/// <param name="Count">References to the dma-buf's file (<c>count:</c>).</param>
/// <param name="Flags">The descriptor's open flags (<c>flags:</c>, octal in the file).</param>
/// <param name="Name">The name user space gave it with DMA_BUF_SET_NAME (<c>name:</c>), or empty.</param>
/// <remarks>Immutable: safe to share between threads.</remarks>
public sealed record DmaBufInfo(long Size, ulong Inode, string ExporterName, long Count, int Flags, string Name)
{
    /// <summary>Parses <c>/proc/self/fdinfo/<paramref name="fd"/></c>.</summary>
    /// <exception cref="IOException">The file is missing a field a dma-buf has (not a dma-buf descriptor).</exception>
    public static DmaBufInfo Read(int fd)
    {
        string path = $"/proc/self/fdinfo/{fd.ToString(CultureInfo.InvariantCulture)}";
        Dictionary<string, string> fields = File.ReadLines(path)
            .Select(l => l.Split(':', 2))
            .Where(p => p.Length == 2)
            .GroupBy(p => p[0].Trim())
            .ToDictionary(g => g.Key, g => g.First()[1].Trim());
        string Field(string name) =>
            fields.TryGetValue(name, out string? v) ? v : throw new IOException($"{path}: no '{name}:' line (not a dma-buf?)");
        return new DmaBufInfo(
            long.Parse(Field("size"), CultureInfo.InvariantCulture),
            ulong.Parse(Field("ino"), CultureInfo.InvariantCulture),
            Field("exp_name"),
            long.Parse(Field("count"), CultureInfo.InvariantCulture),
            Convert.ToInt32(Field("flags"), 8),
            fields.GetValueOrDefault("name", ""));
    }
}
