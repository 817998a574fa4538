"""What the model looks like in Blender: meshes by group, attributes, playback of the frame
cache, materials, the legend, NetCon curves, camera and world, cache folders."""
