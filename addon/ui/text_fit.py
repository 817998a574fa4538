"""Text that fits the sidebar: a status line or a note is wrapped over as many label rows
as the region's width needs, measured in the UI font (`blf`), so nothing is cut off
mid-word at the default sidebar width. The full text still goes to the Info log (the
operators report it)."""
import re

from ..scene import compat

# Pixels at UI scale 1 that a label in a sidebar panel cannot use: the tab strip, the
# panel's frame and the label's own padding on both sides (measured in Blender 3.4's window:
# a 229-pixel region showed 147 pixels of text after an icon).
MARGIN = 62
ICON = 22  # an icon (or the blank one that indents the rows after it)
# Where a status line puts its parts ("summary; note; note | what follows"): each part starts a row.
PARTS = re.compile(r"; | \| ")


def wrap(text, width, measure):
    """`text` as lines no wider than `width` by `measure` (str → pixels): broken at spaces,
    a word too long for a line alone broken between characters; each part of a status
    line ("a; b | c") starts a line of its own."""
    lines = []
    for part in PARTS.split(text.strip()):
        lines.extend(_wrap_part(part, width, measure))
    return lines or [""]


def _wrap_part(part, width, measure):
    lines, line = [], ""
    for word in part.split():
        candidate = f"{line} {word}" if line else word
        if measure(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = word
        while measure(line) > width and len(line) > 1:  # a path or a name longer than the row
            cut = _longest_fit(line, width, measure)
            lines.append(line[:cut])
            line = line[cut:]
    if line:
        lines.append(line)
    return lines


def _longest_fit(word, width, measure):
    """How many leading characters of `word` fit in `width` (at least one)."""
    cut = 1
    while cut < len(word) and measure(word[:cut + 1]) <= width:
        cut += 1
    return cut


def label_width(context, icon=True):
    """Pixels a label row of this panel's region can show."""
    scale = context.preferences.system.ui_scale or 1.0
    region_width = context.region.width if context.region is not None else 300
    return region_width - (MARGIN + (ICON if icon else 0)) * scale


def measure(context):
    """str → its width in pixels as this Blender draws a label."""
    size = compat.ui_text_size(context.preferences)
    return lambda text: compat.text_width(text, size)


def fitted_lines(context, text, icon=True):
    return wrap(text, label_width(context, icon), measure(context))


def draw_wrapped(layout, context, text, icon="NONE"):
    """`text` as label rows that fit the region; the rows after the first are indented
    under its icon."""
    col = layout.column(align=True)
    iconic = icon != "NONE"
    for index, line in enumerate(fitted_lines(context, text, iconic)):
        col.label(text=line, icon=icon if index == 0 else ("BLANK1" if iconic else "NONE"))
    return col
