namespace Memphys;

/// <summary>Receives one chunk of a mapping walked by <see cref="MemphysMapping.ForEachReadOnlyChunk"/>.</summary>
/// <param name="chunk">The chunk's bytes.</param>
/// <param name="offset">Byte offset of the chunk from the start of the mapping.</param>
public delegate void ReadOnlySpanChunkAction(ReadOnlySpan<byte> chunk, long offset);
