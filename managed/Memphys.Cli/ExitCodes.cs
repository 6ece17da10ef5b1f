namespace Memphys.Cli;

/// <summary>Process exit codes of the memphys CLI.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int CheckFailed = 1;
    public const int Usage = 2;
    public const int DeviceUnavailable = 3;
    public const int OsError = 4;
    public const int InternalError = 5;
    public const int Unsupported = 6;

    /// <summary>128 + SIGINT, as shells report a command that Ctrl-C ended.</summary>
    public const int Interrupted = 130;

    public const string HelpText =
        "Exit codes: 0 ok; 1 a check failed (verify) or corruption was found (stress); 2 usage error; " +
        "3 device missing or permission denied (ENOENT, ENODEV, ENXIO, EACCES, EPERM); 4 other OS error (also a file named by an option); " +
        "5 internal error (a bug: please report the line printed); 6 unsupported process (32-bit); " +
        "130 interrupted by Ctrl-C (stopped cleanly, mappings released).";
}
