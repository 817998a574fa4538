"""Save and load a `Model` as one .npz file (arrays as arrays, the rest as JSON), so a
recording made outside Blender carries its morphology with it.

Generic over the dataclass fields, so new `Model` fields travel without changes here.
No pickle: the file never runs code when opened.
"""
import dataclasses
import json

import numpy as np

from .model import Model


def save_model(model, path):
    arrays, other = {}, {}
    for field in dataclasses.fields(Model):
        value = getattr(model, field.name)
        if isinstance(value, np.ndarray):
            arrays[field.name] = value
        else:
            other[field.name] = value
    np.savez(path, **arrays, _json=np.frombuffer(json.dumps(other).encode(), dtype=np.uint8))


def load_model_file(path):
    with np.load(path, allow_pickle=False) as data:
        values = json.loads(data["_json"].tobytes().decode())
        values.update({name: data[name] for name in data.files if name != "_json"})
    known = {field.name for field in dataclasses.fields(Model)}
    return Model(**{key: value for key, value in values.items() if key in known})
