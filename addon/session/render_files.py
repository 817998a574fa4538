"""The files renders write: PNG and video output settings (Blender 5.0 split video out of the
file formats), frames rendered one by one into PNGs, pixels written as a PNG, and PNGs
encoded into an MP4 by Blender's own FFmpeg. Shared by the stills, the side-by-side
comparison and the headless job."""
import bpy
import numpy as np


def image_format(settings):
    """What `restore_format` puts back: (media type or None before 5.0, file format, colour mode)."""
    media = settings.media_type if "media_type" in settings.bl_rna.properties else None
    return media, settings.file_format, settings.color_mode


def png_output(settings, alpha):
    """PNG stills (RGBA with a transparent background); 5.0+ picks the media type first."""
    set_media(settings, "IMAGE", "PNG")
    settings.color_mode = "RGBA" if alpha else "RGB"


def restore_format(settings, saved):
    media, file_format, colour_mode = saved
    if media is not None:
        settings.media_type = media
    settings.file_format = file_format
    if colour_mode in {i.identifier for i in settings.bl_rna.properties["color_mode"].enum_items}:
        settings.color_mode = colour_mode


def set_media(image_settings, media, file_format):
    """Blender 5.0 split video out of the file formats: pick the media type first."""
    if "media_type" in image_settings.bl_rna.properties:
        image_settings.media_type = media
    image_settings.file_format = file_format


def video_output(scene, filepath):
    """H.264 in an MP4 to `filepath`, no audio."""
    render = scene.render
    set_media(render.image_settings, "VIDEO", "FFMPEG")
    render.ffmpeg.format, render.ffmpeg.codec = "MPEG4", "H264"
    render.ffmpeg.constant_rate_factor = "HIGH"
    render.ffmpeg.audio_codec = "NONE"
    render.filepath = filepath


def render_frames(scene, frames, folder, on_frame=None, *, name_of=lambda frame: f"{frame:06d}.png"):
    """Render each frame to a PNG in `folder` (named by `name_of(frame)`); returns
    {frame: path}. The output path and format are put back afterwards (the saved .blend
    keeps them). `on_frame(i, n)` before each frame and once at the end."""
    render = scene.render
    saved = render.filepath, image_format(render.image_settings)
    png_output(render.image_settings, render.film_transparent)
    on_frame = on_frame or (lambda i, n: None)
    paths = {}
    try:
        for i, frame in enumerate(frames):
            on_frame(i, len(frames))
            scene.frame_set(frame)
            paths[frame] = folder / name_of(frame)
            render.filepath = str(paths[frame])
            outcome = bpy.ops.render.render(write_still=True, scene=scene.name)
            if "FINISHED" not in outcome or not paths[frame].is_file():
                raise RuntimeError(f"rendering frame {frame} with {render.engine} failed ({outcome})")
        on_frame(len(frames), len(frames))
    finally:
        render.filepath = saved[0]
        restore_format(render.image_settings, saved[1])
    return paths


def write_png(pixels, target):
    """Pixels (rows bottom-up, RGBA floats, as Blender stores them) as a PNG at `target`."""
    h, w = pixels.shape[:2]
    image = bpy.data.images.new("NEURON Live sheet", w, h, alpha=True)
    try:
        image.pixels.foreach_set(np.ascontiguousarray(pixels, np.float32).ravel())
        image.filepath_raw = str(target)
        image.file_format = "PNG"
        image.save()
    finally:
        bpy.data.images.remove(image)
    return target


def png_size(path):
    """(width, height) from a PNG's header, without loading its pixels."""
    header = path.read_bytes()[16:24]
    return int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")


def encode(pngs, target, fps):
    """The PNGs ({frame: path}), in frame order, into an H.264 MP4 of their size by Blender's
    FFmpeg (a throwaway sequencer scene; Standard view so the colours pass through unchanged)."""
    frames = sorted(pngs)
    width, height = png_size(pngs[frames[0]])
    if width % 2 or height % 2:
        raise ValueError(f"{width}x{height} frames: H.264 needs an even width and height")
    movie = bpy.data.scenes.new("NEURON Live movie")
    try:
        editor = movie.sequence_editor_create()
        strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 5.0 renamed it
        strip = strips.new_image("frames", filepath=str(pngs[frames[0]]), channel=1, frame_start=1)
        for frame in frames[1:]:
            strip.elements.append(pngs[frame].name)
        render = movie.render
        render.resolution_x, render.resolution_y = width, height
        render.resolution_percentage, render.fps, render.fps_base = 100, int(fps), 1.0
        movie.frame_start, movie.frame_end = 1, len(frames)
        movie.view_settings.view_transform, movie.view_settings.look = "Standard", "None"
        video_output(movie, str(target))
        target.unlink(missing_ok=True)
        outcome = bpy.ops.render.render(animation=True, scene=movie.name)
        if "FINISHED" not in outcome or not target.is_file():
            raise RuntimeError(f"encoding {target.name} with Blender's FFmpeg failed ({outcome})")
    finally:
        bpy.data.scenes.remove(movie)
    return target
