#!/usr/bin/env python3
"""Draws Solstice's PNG icons (the mark of style/favicon.svg) into the directory given.

Phones want bitmaps for the home screen and the install prompt; the SVG stays the source of
the design. Standard library only: a ring in the brand gradient, anti-aliased by sampling each
pixel 4x4 times.

  icon-192.png, icon-512.png       the mark on a transparent background ("any")
  icon-maskable-512.png            on the page colour, inside the maskable safe zone (80%)
  apple-touch-icon.png (180)       on the page colour (iOS fills transparency with black)
"""

import struct
import sys
import zlib
from pathlib import Path

BACKGROUND = (0x0F, 0x10, 0x20)
FROM = (0xFF, 0xB3, 0x47)  # top left
TO = (0x99, 0x45, 0xFF)  # bottom right
SAMPLES = 4


def draw(size: int, outer: float, opaque: bool) -> bytes:
    """RGBA rows of the mark: a disc of radius `outer` (fraction of the size) with a hole."""
    centre = size / 2
    r_out = outer * size
    r_in = r_out * 6 / 14  # as in the SVG: radii 14 and 6
    rows = bytearray()
    step = 1 / SAMPLES
    for y in range(size):
        rows.append(0)  # filter: none
        for x in range(size):
            ring = hole = 0
            for sy in range(SAMPLES):
                dy = y + (sy + 0.5) * step - centre
                for sx in range(SAMPLES):
                    dx = x + (sx + 0.5) * step - centre
                    d2 = dx * dx + dy * dy
                    if d2 < r_in * r_in:
                        hole += 1
                    elif d2 <= r_out * r_out:
                        ring += 1
            if opaque:  # the page colour everywhere but on the ring
                hole = SAMPLES * SAMPLES - ring
            painted = ring + hole
            t = min(max(((x - centre) + (y - centre)) / (4 * r_out) + 0.5, 0.0), 1.0)
            colour = [FROM[i] + (TO[i] - FROM[i]) * t for i in range(3)]
            if painted == 0:
                rows.extend((0, 0, 0, 0))
                continue
            # The hole shows the page colour, as in the SVG, so the mark reads the same on
            # light launchers.
            rgb = [round((colour[i] * ring + BACKGROUND[i] * hole) / painted) for i in range(3)]
            rows.extend(rgb + [round(255 * painted / (SAMPLES * SAMPLES))])
    return bytes(rows)


def png(size: int, rgba_rows: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rgba_rows, 9)) + chunk(b"IEND", b"")


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    icons = {
        "icon-192.png": (192, 14 / 32, False),
        "icon-512.png": (512, 14 / 32, False),
        "icon-maskable-512.png": (512, 0.30, True),
        "apple-touch-icon.png": (180, 0.36, True),
    }
    for name, (size, outer, opaque) in icons.items():
        (out / name).write_bytes(png(size, draw(size, outer, opaque)))


if __name__ == "__main__":
    main()
