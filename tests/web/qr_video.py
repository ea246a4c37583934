"""A fake camera for the check-in scan test: a Y4M video of a QR code (segno's module matrix, black on white),
which Chromium plays as its camera (``--use-file-for-fake-video-capture``), as barcode_video.py does for a
Code 128 label: the test passes only if the page's vendored ZXing reader decodes it."""

from pathlib import Path

import segno


def write_qr_y4m(path: Path, text: str, *, width: int = 640, height: int = 480, frames: int = 10) -> Path:
    """A grey-scale Y4M clip of ``text`` as a QR code, centred, with its quiet zone."""
    qr = segno.make(text, error="m")
    size = qr.symbol_size(scale=1, border=4)[0]
    scale = int(min(width, height) * 0.9) // size
    rows = [bytes(0x10 if dark else 0xEB for dark in row for _ in range(scale))
            for row in qr.matrix_iter(scale=1, border=4) for _ in range(scale)]
    left, top = (width - len(rows[0])) // 2, (height - len(rows)) // 2
    blank = b"\xeb" * width
    luma = blank * top + b"".join(b"\xeb" * left + row + b"\xeb" * (width - left - len(row)) for row in rows)
    luma += blank * (height - top - len(rows))
    assert len(luma) == width * height
    chroma = b"\x80" * (width // 2 * height // 2 * 2)
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + luma + chroma)
    return path
