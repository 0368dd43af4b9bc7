#!/usr/bin/env python3
"""An independent reference for rnnkit's name-keyed random streams (random/stream.h),
in plain Python: Philox4x32-10, the FNV-1a name hash, the counter layout and the
uniform and Box-Muller transforms. It checks the same golden values that
tests/random/stream_test.cc pins in C++, so the two implementations agree bit for bit."""
import math
import sys

MASK = 0xFFFFFFFF


def philox4x32_10(counter, key):
    c, k = list(counter), list(key)
    for r in range(10):
        if r:
            k = [(k[0] + 0x9E3779B9) & MASK, (k[1] + 0xBB67AE85) & MASK]
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & MASK, (p0 >> 32) ^ c[3] ^ k[1], p0 & MASK]
    return c


def fnv1a64(text):
    h = 0xCBF29CE484222325
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def words(seed, name, count):
    h = fnv1a64(name)
    out, block = [], 0
    while len(out) < count:
        out += philox4x32_10([block & MASK, block >> 32, h & MASK, h >> 32], [seed & MASK, seed >> 32])
        block += 1
    return out[:count]


def uniforms(seed, name, count):
    w = words(seed, name, 2 * count)
    return [(((w[2 * i] << 32) | w[2 * i + 1]) >> 11) * 2.0**-53 for i in range(count)]


def normals(seed, name, pairs):
    u = uniforms(seed, name, 2 * pairs)
    out = []
    for i in range(pairs):
        r = math.sqrt(-2.0 * math.log(1.0 - u[2 * i]))
        a = 2.0 * math.pi * u[2 * i + 1]
        out += [r * math.cos(a), r * math.sin(a)]
    return out


def main():
    name = "lstm/l0/fw/weight_ih"
    checks = [
        (fnv1a64(name), 0x1221EF2E84EB518D),
        (words(42, name, 4), [0x63F88DCB, 0x19032700, 0xF8154AB6, 0x7FA90952]),
        (uniforms(42, name, 3), [float.fromhex(h) for h in ("0x1.8fe2372c640c8p-2", "0x1.f02a956cff521p-1", "0x1.112233d3a6fp-3")]),
        (normals(42, name, 1), [float.fromhex(h) for h in ("0x1.f3ea3984ef214p-1", "-0x1.8983eaafc4ffdp-3")]),
    ]
    failed = 0
    for got, want in checks:
        if got != want:
            print(f"mismatch: got {got}, want {want}")
            failed += 1
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
