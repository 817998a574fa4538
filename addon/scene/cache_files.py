"""Where frame caches live: the extension's user cache folder until the .blend is saved,
then beside the .blend (blend-relative path), so the pair can be moved together."""
import hashlib
import os
import re
import shutil
from pathlib import Path

import bpy
from bpy.app.handlers import persistent

from .. import EXTENSION_PACKAGE
from ..engine import CacheError, FrameCache
from ..engine.state import session
from . import compat


def user_folder(name):
    """A folder of ours in Blender's user resources (the extension's own user folder)."""
    return compat.user_folder(EXTENSION_PACKAGE, name)


def cache_name(blend_path, model_path, scene_name):
    """`<blend>_<scene>_<model>-<hash>.nlcache`: readable, and unique per model file (full
    path), scene and .blend, so two models named cell.hoc never share a cache. Unsaved
    files add this Blender's process id: two Blenders share the user cache folder."""
    readable = "_".join(re.sub(r"[^\w.-]", "_", part)[:40] for part in (
        Path(blend_path).stem if blend_path else "", scene_name, Path(model_path).stem) if part)
    owner = str(Path(blend_path).resolve()) if blend_path else f"unsaved-{os.getpid()}"
    key = "\0".join((owner, scene_name, str(Path(model_path).resolve())))
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:10]}.nlcache"


def cache_folder(model_path, scene):
    """Beside the saved .blend, else in the user cache folder. One per model and scene."""
    if bpy.data.filepath:
        return Path(bpy.data.filepath).parent / cache_name(bpy.data.filepath, model_path, scene.name)
    return user_folder("cache") / cache_name("", model_path, scene.name)


def stored_path(folder, blend_path=None):
    """The path kept in the .blend: relative to it when saved."""
    blend_path = blend_path if blend_path is not None else bpy.data.filepath
    if not blend_path:
        return str(folder)
    return bpy.path.relpath(str(folder), start=str(Path(blend_path).parent))


@persistent
def on_save_pre(filepath, *_args):
    """Bring the cache beside the .blend being written (moved from the user cache folder,
    copied from beside another .blend so that file keeps playing too)."""
    cache = session.cache
    if cache is None or not filepath:
        return
    for scene in bpy.data.scenes:
        props = getattr(scene, "neuron_live", None)
        if props is None or not props.cache_path:
            continue
        if Path(bpy.path.abspath(props.cache_path)).resolve() != cache.folder.resolve():
            continue
        target = Path(filepath).parent / cache_name(filepath, cache.meta.get("model", "model"), scene.name)
        if cache.folder.resolve() == target.resolve():
            return
        if session.busy:
            props.status = "The run is still writing its cache: save again when it ends to keep it beside the .blend"
            return
        temporary = user_folder("cache") in cache.folder.parents
        try:
            if target.exists():
                shutil.rmtree(target)
            (shutil.move if temporary else shutil.copytree)(str(cache.folder), str(target))
            session.cache = FrameCache.open(target)
        except (OSError, CacheError) as exc:
            props.status = f"Could not place the cache beside {Path(filepath).name}: {exc}"
            return
        props.cache_path = stored_path(target, filepath)
