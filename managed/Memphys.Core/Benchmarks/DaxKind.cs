namespace Memphys.Benchmarks;

/// <summary>A device-dax node (/dev/daxX.Y) whose alignment is the kind's page size, from <see cref="BenchSettings.DaxPaths"/>.</summary>
internal sealed class DaxKind(string name, ulong align) : FileKind(name, "devdax", align)
{
    /// <inheritdoc/>
    public override string? Prepare(BenchSettings settings)
    {
        foreach (string path in settings.DaxPaths)
        {
            string sys = $"/sys/bus/dax/devices/{Path.GetFileName(path)}";
            if (!File.Exists($"{sys}/align") || ReadNumber($"{sys}/align") != PageSize)
            {
                continue;
            }

            ulong size = ReadNumber($"{sys}/size");
            if (size < (ulong)settings.Length)
            {
                return $"{path} has {Size(size)}, less than the {Size((ulong)settings.Length)} measured";
            }

            Open(path);
            return null;
        }

        return $"no device-dax node with {Size(PageSize)} alignment given (--dax /dev/daxX.Y)";
    }

    private static ulong ReadNumber(string file)
    {
        string text = File.ReadAllText(file).Trim();
        return text.StartsWith("0x", StringComparison.Ordinal)
            ? ulong.Parse(text[2..], System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture)
            : ulong.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
    }
}
