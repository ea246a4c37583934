"""A fake camera for the scan-to-borrow test: a Y4M video of a Code 128 barcode, which Chromium plays as its
camera (``--use-file-for-fake-video-capture``), so the page's ZXing reader decodes a real image.

Code 128 set B is encoded here from the standard's pattern table (checked against reportlab's encoder when
this was written: the same bars for "B1", "P1", "Hello-123"); the test passes only if ZXing reads it back.
"""

from pathlib import Path

#: Code 128 symbol patterns 0–105 as bar/space widths in modules (each sums to 11); then the stop pattern.
PATTERNS = """212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 112232 122132 122231
113222 123122 123221 223211 221132 221231 213212 223112 312131 311222 321122 321221 312212 322112 322211 212123
212321 232121 111323 131123 131321 112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321
133121 313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 314111 221411 431111
111224 111422 121124 121421 141122 141221 112214 112412 122114 122411 142112 142211 241211 221114 413111 241112
134111 111242 121142 121241 114212 124112 124211 411212 421112 421211 212141 214121 412121 111143 111341 131141
114113 114311 411113 411311 113141 114131 311141 411131 211412 211214 211232""".split()
STOP = "2331112"
START_B = 104


def code128_widths(text: str) -> str:
    """Bar and space widths (modules) of ``text`` in Code 128 set B, with its check symbol."""
    values = [ord(c) - 32 for c in text]
    if any(not 0 <= v < 95 for v in values):
        raise ValueError("Code 128 set B encodes printable ASCII only")
    check = (START_B + sum(i * v for i, v in enumerate(values, 1))) % 103
    return "".join(PATTERNS[v] for v in [START_B, *values, check]) + STOP


def write_y4m(path: Path, text: str, *, width: int = 640, height: int = 480, module: int = 4, frames: int = 10) -> Path:
    """A grey-scale Y4M clip of ``text`` as a Code 128 barcode, black on white, centred."""
    assert len(PATTERNS) == 106 and all(sum(map(int, p)) == 11 for p in PATTERNS)
    row = bytearray()
    dark = True
    for w in code128_widths(text):
        row += (b"\x10" if dark else b"\xeb") * (int(w) * module)
        dark = not dark
    if len(row) > width - 40:
        raise ValueError("barcode wider than the frame")
    left = (width - len(row)) // 2
    line = b"\xeb" * left + bytes(row) + b"\xeb" * (width - left - len(row))
    blank = b"\xeb" * width
    top, bars = height // 4, height // 2
    luma = blank * top + line * bars + blank * (height - top - bars)
    chroma = b"\x80" * (width // 2 * height // 2 * 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma)
    return path
