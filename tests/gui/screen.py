"""The screen of the real-window test (inside Blender, under Xvfb): real input through
xdotool, screenshots through ImageMagick's `import`, text and where it sits through
tesseract (the only way to find a button: Blender 3.4 has no API that lists drawn buttons)."""
import subprocess
from dataclasses import dataclass
from pathlib import Path

import bpy

SCREEN_HEIGHT = 800
OCR_ZOOM = 3  # tesseract reads the UI's 11-pixel text reliably at three times its size
# What Blender draws where it cuts a text (and tesseract reads it as)
ELLIPSES = ("…", "...")


def xdo(*args):
    subprocess.run(["xdotool", *map(str, args)], check=True)


def shoot(path):
    subprocess.run(["import", "-window", "root", str(path)], check=True)
    return Path(path)


def crop(source, box, target):
    """Save the screen box (x, y, w, h) of a screenshot as its own PNG (a guide's picture)."""
    x, y, w, h = box
    subprocess.run(["convert", str(source), "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(target)], check=True)
    return Path(target)


def screen_xy(region, x, y):
    """Region coordinates (origin bottom left) → X screen coordinates (origin top left)."""
    return int(region.x + x), int(SCREEN_HEIGHT - (region.y + y))


def region_box(region):
    """A region's (x, y, w, h) on the screen."""
    x, top = screen_xy(region, 0, region.height)
    return x, top, region.width, region.height


@dataclass
class Word:
    text: str
    x: int  # screen pixels: the word's box
    y: int
    w: int
    h: int

    @property
    def centre(self):
        return self.x + self.w // 2, self.y + self.h // 2

    @property
    def cut(self):
        return any(mark in self.text for mark in ELLIPSES)


def ocr(screenshot, box):
    """The words tesseract reads in the screen box (x, y, w, h) of a screenshot."""
    x0, y0, w, h = box
    zoomed = Path(screenshot).with_suffix(".ocr.png")
    subprocess.run(["convert", str(screenshot), "-crop", f"{w}x{h}+{x0}+{y0}", "+repage", "-colorspace", "Gray",
                    "-negate", "-resize", f"{OCR_ZOOM * 100}%", str(zoomed)], check=True)
    out = subprocess.run(["tesseract", str(zoomed), "-", "--psm", "11", "tsv"], capture_output=True, text=True,
                         check=True).stdout
    zoomed.unlink()
    words = []
    for line in out.splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) == 12 and cells[11].strip() and float(cells[10]) > 20:
            left, top, width, height = (int(c) // OCR_ZOOM for c in cells[6:10])
            words.append(Word(cells[11].strip(), x0 + left, y0 + top, width, height))
    return words


def find(words, text, *, below=None, left_of=None):
    """The first word reading `text` (top to bottom), optionally below a screen y or left of an x."""
    for word in sorted(words, key=lambda w: (w.y, w.x)):
        if word.text.rstrip(".:…") == text and (below is None or word.y > below) and (
                left_of is None or word.x < left_of):
            return word
    raise LookupError(f"no {text!r} on screen; read: {' '.join(w.text for w in words)[:600]}")


def pixel(path, x, y, r=2):
    """Mean RGB of a (2r+1)² patch around screen pixel (x, y) of a screenshot."""
    import numpy as np
    image = bpy.data.images.load(str(path))
    w, h = image.size
    px = np.empty(w * h * 4, np.float32)
    image.pixels.foreach_get(px)
    bpy.data.images.remove(image)
    px = px.reshape(h, w, 4)[::-1]  # Blender images start at the bottom row
    return [round(float(c), 3) for c in px[y - r:y + r + 1, x - r:x + r + 1, :3].mean(axis=(0, 1))]
