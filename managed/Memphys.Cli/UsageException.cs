namespace Memphys.Cli;

/// <summary>A semantic usage error found after parsing (exit code 2).</summary>
internal sealed class UsageException(string message) : Exception(message);
