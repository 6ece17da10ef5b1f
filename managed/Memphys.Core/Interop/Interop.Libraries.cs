using System.Reflection;
using System.Runtime.InteropServices;

namespace Memphys.Native;

/// <summary>Names of the native libraries the interop layer binds to.</summary>
internal static partial class Interop
{
    internal static class Libraries
    {
        /// <summary>Logical name used in every <c>[LibraryImport]</c>; resolved by <see cref="Resolve"/>.</summary>
        internal const string Libc = "libc";

        // glibc first, then musl (x86_64 / aarch64), then whatever the loader finds.
        private static readonly string[] s_candidates =
        [
            "libc.so.6",
            "libc.musl-x86_64.so.1",
            "libc.musl-aarch64.so.1",
            "libc.so",
        ];

        private static int s_registered;

        /// <summary>The file the resolver loaded for <see cref="Libc"/>; null until the first import is bound.</summary>
        internal static string? LoadedFrom { get; private set; }

        /// <summary>Installs the resolver once; runs as the module initializer, before any import is bound.</summary>
#pragma warning disable CA2255 // The resolver must be in place before the first P/Invoke of this assembly binds.
        [System.Runtime.CompilerServices.ModuleInitializer]
#pragma warning restore CA2255
        internal static void EnsureResolver()
        {
            if (Interlocked.Exchange(ref s_registered, 1) == 0)
            {
                NativeLibrary.SetDllImportResolver(typeof(Interop).Assembly, Resolve);
            }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != Libc)
            {
                return IntPtr.Zero;
            }

            foreach (string candidate in s_candidates)
            {
                if (NativeLibrary.TryLoad(candidate, out IntPtr handle))
                {
                    LoadedFrom = candidate;
                    return handle;
                }
            }

            return IntPtr.Zero;
        }
    }
}
