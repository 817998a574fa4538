"""bpy-free colour: palettes fitted to Blender's ColorRamp, and matplotlib plots."""
