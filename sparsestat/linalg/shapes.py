"""Shape buckets: the sizes compiled programs are built for.

A jitted program is compiled once per input shape. Rounding the sizes a module chooses (padded data,
working sets, chunk lengths, refit widths) up to a small ladder lets inputs of similar size share
programs: :func:`next_pow2` (one size an octave) and :func:`ladder` (eight sizes an octave past 64,
at most 12.5 % of padding).
"""

from __future__ import annotations

__all__ = ["next_pow2", "ladder"]


def next_pow2(m: int, lo: int = 1, cap: int | None = None) -> int:
    """The smallest power of two >= max(m, lo), then at most ``cap`` (if given)."""
    m = max(int(m), int(lo), 1)
    out = 1 << (m - 1).bit_length()
    return out if cap is None else min(out, int(cap))


def ladder(m: int) -> int:
    """The smallest size >= m on the ladder: powers of two up to 64, then eight sizes per octave
    (multiples of 2^(k-3) between 2^k and 2^(k+1)), so at most 12.5 % of padding and every size past
    64 a multiple of 8."""
    m = int(m)
    if m <= 64:
        return next_pow2(m)
    step = 1 << (int(m - 1).bit_length() - 4)
    return -(-m // step) * step
