"""One emissive material per group: attribute → normalise → colour ramp → emission.

Palettes by seaborn name arrive with the colour issue; until then a fixed cool-warm
ramp keeps enabling the add-on free of seaborn and matplotlib.
"""
import bpy

NO_DATA = (0.25, 0.25, 0.25, 1.0)
COOLWARM = ((0.0, (0.02, 0.05, 0.45, 1.0)), (0.5, (0.6, 0.6, 0.6, 1.0)), (1.0, (0.75, 0.02, 0.01, 1.0)))


def activity_material(name, attribute, vmin=-80.0, vmax=40.0):
    """Create (or refresh in place) the material colouring `attribute` from vmin to vmax."""
    material = bpy.data.materials.get(name) or bpy.data.materials.new(name)
    if bpy.app.version < (5, 0, 0):  # always node-based from 5.0 (use_nodes is deprecated)
        material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    nodes.clear()
    attr = nodes.new("ShaderNodeAttribute")
    attr.attribute_name = attribute
    normalise = nodes.new("ShaderNodeMapRange")
    normalise.inputs["From Min"].default_value = vmin
    normalise.inputs["From Max"].default_value = vmax
    ramp = nodes.new("ShaderNodeValToRGB")
    elements = ramp.color_ramp.elements
    for element in list(elements)[1:]:
        elements.remove(element)
    elements[0].position, elements[0].color = COOLWARM[0]
    for position, color in COOLWARM[1:]:
        elements.new(position).color = color
    emission = nodes.new("ShaderNodeEmission")
    emission.inputs["Strength"].default_value = 2.0
    output = nodes.new("ShaderNodeOutputMaterial")
    links.new(attr.outputs["Fac"], normalise.inputs["Value"])
    links.new(normalise.outputs["Result"], ramp.inputs["Fac"])
    links.new(ramp.outputs["Color"], emission.inputs["Color"])
    links.new(emission.outputs["Emission"], output.inputs["Surface"])
    for x, node in enumerate((attr, normalise, ramp, emission, output)):
        node.location = (x * 250, 0)
    material.diffuse_color = NO_DATA  # what Workbench and the viewport show without nodes
    return material
