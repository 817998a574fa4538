"""Blender's UI: properties, operators, panels, preferences, the file handler and
`registration` (the ordered CLASSES tuple and the handlers)."""
