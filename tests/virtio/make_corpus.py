#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtqueue.c into corpus/: well-formed and
hostile rings in the harness's input format (8-byte header, then guest RAM
with the descriptor table at 0, avail ring after it, used ring after that)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NEXT, WRITE, INDIRECT = 1, 2, 4


def seed(name, log2, flags, descs, heads, last_avail=0, used_idx=0, iov_max=63, extra=None):
    qsize = 1 << log2
    ram = bytearray(max(4096, 16 * qsize + 8 + 2 * qsize + 8 * qsize + 16))
    for i, (addr, ln, fl, nx) in descs.items():
        struct.pack_into("<QIHH", ram, 16 * i, addr, ln, fl, nx)
    avail = 16 * qsize
    idx = last_avail
    for h in heads:
        struct.pack_into("<H", ram, avail + 4 + 2 * (idx % qsize), h)
        idx = (idx + 1) & 0xFFFF
    struct.pack_into("<HH", ram, avail, 0, idx)
    for off, blob in (extra or {}).items():
        ram[off:off + len(blob)] = blob
    hdr = struct.pack("<BBHHBB", log2, flags, last_avail, used_idx, iov_max, 0)
    with open(os.path.join(HERE, "corpus", name), "wb") as f:
        f.write(hdr + bytes(ram))


def table(entries):
    return b"".join(struct.pack("<QIHH", *e) for e in entries)


os.makedirs(os.path.join(HERE, "corpus"), exist_ok=True)
seed("normal-chain", 3, 0, {0: (0x800, 16, NEXT, 1), 1: (0x900, 512, NEXT, 2), 2: (0xB00, 1, WRITE, 0)}, [0])
seed("two-chains", 3, 0, {0: (0x800, 16, 0, 0), 1: (0x900, 64, WRITE, 0)}, [0, 1])
seed("indirect", 3, 1, {0: (0xC00, 48, INDIRECT, 0)}, [0],
     extra={0xC00: table([(0x800, 16, NEXT, 1), (0x900, 256, WRITE | NEXT, 2), (0xA00, 1, WRITE, 0)])})
seed("indirect-loop", 3, 1, {0: (0xC00, 32, INDIRECT, 0)}, [0],
     extra={0xC00: table([(0x800, 16, NEXT, 1), (0x900, 16, NEXT, 0)])})
seed("nested-indirect", 3, 1, {0: (0xC00, 16, INDIRECT, 0)}, [0],
     extra={0xC00: table([(0xD00, 16, INDIRECT, 0)])})
seed("loop", 3, 0, {0: (0x800, 8, NEXT, 1), 1: (0x800, 8, NEXT, 0)}, [0])
seed("out-of-range", 3, 0, {0: (0xFFFFFFFFFFFFFFF0, 64, 0, 0)}, [0])
seed("past-ram", 3, 0, {0: (0xFFF0, 64, WRITE, 0)}, [0])
seed("bad-head", 3, 0, {}, [9])
seed("wraparound", 2, 0, {0: (0x800, 8, WRITE, 0), 1: (0x900, 8, WRITE, 0), 2: (0xA00, 8, 0, 0)},
     [0, 1, 2], last_avail=65535, used_idx=65535)
seed("avail-ahead", 2, 0, {0: (0x800, 8, 0, 0)}, [0] * 9)
seed("write-then-read", 3, 0, {0: (0x800, 8, WRITE | NEXT, 1), 1: (0x900, 8, 0, 0)}, [0])
seed("few-iov", 3, 0, {0: (0x800, 8, NEXT, 1), 1: (0x900, 8, NEXT, 2), 2: (0xA00, 8, WRITE, 0)}, [0], iov_max=1)
seed("full-ring-256", 8, 0, {i: (0x3000 + i, 1, WRITE, 0) for i in range(256)}, list(range(256)))
