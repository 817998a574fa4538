"""bpy-free: cell shapes from a `Model` as numpy arrays (polylines, tube meshes, cell roots)."""
