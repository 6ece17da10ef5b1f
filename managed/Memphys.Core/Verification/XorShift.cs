namespace Memphys.Verification;

/// <summary>Small deterministic PRNG (xorshift64*), seeded per worker.</summary>
internal struct XorShift(ulong seed)
{
    private ulong _state = Pattern.Mix(seed, 0) | 1;

    public ulong Next()
    {
        _state ^= _state >> 12;
        _state ^= _state << 25;
        _state ^= _state >> 27;
        return _state * 0x2545F4914F6CDD1DUL;
    }

    public long Below(long bound) => (long)(Next() % (ulong)bound);
}
