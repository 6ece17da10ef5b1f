namespace Memphys;

/// <summary>
/// An <see cref="IProgress{T}"/> that calls its action on the reporting thread, at once: <see cref="Progress{T}"/>
/// posts to a synchronization context, which a console program does not have and which would let reports arrive
/// after the operation returned.
/// </summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
