namespace Memphys;

/// <summary>Receives one chunk of a mapping walked by <see cref="MemphysMapping.ForEachChunk"/>.</summary>
/// <param name="chunk">The chunk's bytes.</param>
/// <param name="offset">Byte offset of the chunk from the start of the mapping.</param>
public delegate void SpanChunkAction(Span<byte> chunk, long offset);
