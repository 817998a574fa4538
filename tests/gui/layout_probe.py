"""Run a panel's real draw() against a stand-in layout that records every text it would draw
and the width Blender's layout gives it, so a test can measure each text (blf) against its
room: the bpy module has no UI to draw into, and a real window has no API that lists its
buttons. Used by tests/test_panels.py (bpy module) and tests/gui/drive.py (real Blender).

The width model follows Blender's layout engine (interface_layout.cc): a row shares its width
among its items in proportion to what each needs and cuts text only when their sum exceeds
it; a property split gives its label 40 % of the row; a box and a button pad their insides.
"""
from dataclasses import dataclass, field

SPLIT = 0.4      # UI_ITEM_PROP_SEP_DIVIDE
PAD = 10         # a button's text padding (both sides) at UI scale 1
ICON = 20        # an icon's width
CHECKBOX = 22    # a checkbox before its text
BOX = 12         # a box's inner margin (both sides)
ARROW = 14       # a menu or dropdown's arrow


@dataclass
class Text:
    text: str
    room: float  # pixels Blender gives it
    where: str   # what drew it, for the message of a failing check


@dataclass
class Probe:
    """What a draw() recorded: each text with its room."""
    measure: object  # str -> pixels
    texts: list = field(default_factory=list)
    buttons: list = field(default_factory=list)  # (operator idname, what the draw set on it)

    def need(self, text, icon=False, extra=0):
        return self.measure(text) + PAD + (ICON if icon else 0) + extra

    def too_wide(self):
        """Texts that need more room than they get (Blender would cut them with an ellipsis)."""
        return [t for t in self.texts if t.text and self.measure(t.text) > t.room]


class _Stub:
    """Whatever a draw() sets on a button (filepath, action, extend...)."""


class Layout:
    """A stand-in for bpy.types.UILayout with the methods our panels call."""

    def __init__(self, probe, width, row=False):
        self.probe, self.width, self._row = probe, width, row
        self._items = []  # in a row: (need, record(room)) until the row closes
        self._children = []
        self.use_property_split = self.use_property_decorate = False
        self.active = self.enabled = self.alert = True
        self.scale_y = self.scale_x = 1.0

    # -- containers ---------------------------------------------------------------------
    def _child(self, width, row=False):
        child = Layout(self.probe, width, row)
        child.use_property_split = self.use_property_split
        self._children.append(child)
        return child

    def column(self, align=False, heading=""):
        child = self._child(self.width)
        child.heading = heading
        return child

    def row(self, align=False, heading=""):
        return self._child(self.width, row=True)

    def box(self):
        return self._child(self.width - BOX)

    def split(self, factor=0.5, align=False):
        return self.row()

    # -- items --------------------------------------------------------------------------
    def _add(self, need, record):
        if self._row:
            self._items.append((need, record))
        else:
            record(self.width)

    @property
    def buttons(self):
        return self.probe.buttons

    def close(self):
        """Give each item of the rows under this layout its room (as Blender fits a row)."""
        for child in self._children:
            child.close()
        if self._row and self._items:
            total = sum(need for need, _ in self._items) or 1
            spare = (self.width - total) / len(self._items)  # what a row too wide for its items shares out
            for need, record in self._items:
                record(self.width * need / total if total > self.width else need + spare)

    def label(self, text="", icon="NONE", **_):
        self._text(text, icon != "NONE", "label")

    def _text(self, text, icon, where, extra=0):
        shown = text
        need = self.probe.need(shown, icon, extra)
        self._add(need, lambda room: self.probe.texts.append(Text(shown, room - PAD - (ICON if icon else 0) - extra,
                                                                  where)))

    def operator(self, idname, text=None, icon="NONE", **_):
        shown = text if text is not None else _operator_label(idname)
        self._text(shown, icon != "NONE", f"button {idname}")
        self.probe.buttons.append((idname, _Stub()))
        return self.probe.buttons[-1][1]

    def operator_menu_enum(self, idname, prop, text=None, icon="NONE", **_):
        self._text(text if text is not None else _operator_label(idname), icon != "NONE", f"menu {idname}", ARROW)

    def menu(self, menu, text=None, icon="NONE", **_):
        import bpy
        shown = text if text is not None else getattr(bpy.types, menu).bl_label
        self._text(shown, icon != "NONE", f"menu {menu}", ARROW)

    def prop(self, data, key, text=None, icon="NONE", expand=False, emboss=True, **_):
        rna = data.bl_rna.properties[key]
        name = rna.name if text is None else text
        value = _value_text(data, key, rna)
        heading = getattr(self, "heading", "")
        if self.use_property_split and not (rna.type == "BOOLEAN" and heading):
            label_room = self.width * SPLIT
            self.probe.texts.append(Text(name, label_room - PAD, f"label of {key}"))
            if value:
                self.probe.texts.append(Text(value, self.width * (1 - SPLIT) - PAD - ARROW, f"value of {key}"))
            return
        if rna.type == "BOOLEAN":
            self._text(name, icon != "NONE", f"checkbox {key}", CHECKBOX + (self.width * SPLIT if heading else 0))
        elif value:
            self._text(value, icon != "NONE", f"value of {key}", ARROW)
        elif name:
            self._text(f"{name}: 0.000", icon != "NONE", f"field {key}")

    def template_list(self, *args, **kwargs):
        self._add(0, lambda room: None)

    def progress(self, factor=0.0, text="", **_):
        self._text(text, False, "progress")

    def separator(self, **_):
        pass


def _operator_label(idname):
    import bpy
    module, name = idname.split(".")
    return getattr(getattr(bpy.ops, module), name).get_rna_type().name


def _value_text(data, key, rna):
    """The text a dropdown shows: its current item's name (numbers and strings: none)."""
    if rna.type != "ENUM":
        return ""
    item = rna.enum_items.get(getattr(data, key))
    return item.name if item else ""


@dataclass
class _Self:
    """The `self` a draw() gets: the layout, and the panel's own helpers."""
    layout: Layout
    owner: type = object

    def __getattr__(self, name):
        return getattr(self.owner, name)


def probe_panel(panel_class, context, width, measure):
    """The texts `panel_class.draw` would draw in a region `width` pixels wide, each with its room."""
    probe = Probe(measure)
    layout = Layout(probe, width)
    panel_class.draw(_Self(layout, panel_class), context)
    layout.close()
    return probe
