namespace Memphys.Native;

internal static partial class Interop
{
    /// <summary>The libc imports; all bind through the resolver <see cref="Libraries.EnsureResolver"/> installs.</summary>
    internal static partial class Libc
    {
        /// <summary>
        /// Installs the resolver before the first import of this class binds, whether or not the module initializer
        /// has run yet (a static constructor runs before any static method of the class is called).
        /// </summary>
        static Libc() => Libraries.EnsureResolver();
    }
}
