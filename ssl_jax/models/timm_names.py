"""Our ViT parameters in timm's (and DINO's) names and layouts, and back.

timm's ``VisionTransformer.state_dict()`` (DINO's ``vision_transformer.py``
uses the same names): ``patch_embed.proj`` a Conv2d [D, 3, p, p],
``cls_token`` [1, 1, D], ``pos_embed`` [1, 1 + T, D], block i as
``blocks.{i}.`` + ``norm1``, ``attn.qkv`` (Linear [3D, D]), ``attn.proj``,
``ls1.gamma``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``, ``ls2.gamma``; the last
LayerNorm ``norm``.  Linear weights are [out, in] there and [in, out] here;
LayerNorm ``weight`` is our ``scale``.  Registers (``reg_token`` [1, R, D])
have no position embedding here, as in DINOv2; timm's own reg_tokens models
differ in that.  A convolutional stem (``patch_stem="conv"``) keeps its
layers' names under ``patch_embed.`` (``conv1``, ``norm1``, ..., and its
1x1 ``proj``), torch's layouts.
"""
import re
from typing import Any, Dict

import flax
import numpy as np

from ssl_jax.models.vit import SIZES, fixed_position_table

_BLOCK = re.compile(r"block(\d+)")
_STEM_CONV = re.compile(r"patch_embed\.conv\d+\.weight")
# Our module in a block -> timm's.
_IN_BLOCK = {"norm1": "norm1", "qkv": "attn.qkv", "proj": "attn.proj", "norm2": "norm2",
             "fc1": "mlp.fc1", "fc2": "mlp.fc2"}
_LEAF = {"kernel": "weight", "scale": "weight", "bias": "bias"}
# How an array changes between our layout and timm's: (to timm, from timm).
_LAYOUT = {"conv": (lambda v: v.transpose(3, 2, 0, 1), lambda v: v.transpose(2, 3, 1, 0)),
           "linear": (lambda v: v.T, lambda v: v.T),
           "token": (lambda v: v[None], lambda v: v[0]),
           "plain": (lambda v: v, lambda v: v)}


def _timm_name(path):
  """Our parameter path -> (timm name, how the array changes)."""
  *modules, leaf = path
  if not modules:  # pos_embed, cls_token, registers
    return {"registers": "reg_token"}.get(leaf, leaf), "token"
  block = _BLOCK.fullmatch(modules[0])
  if block is None:  # patch_embed (its convolutional stem's layers under it), norm
    prefix = modules[0]
    if prefix == "patch_embed":
      prefix += "." + (modules[1] if len(modules) > 1 else "proj")
    return f"{prefix}.{_LEAF[leaf]}", "conv" if leaf == "kernel" else "plain"
  prefix = f"blocks.{int(block.group(1)) - 1}"
  if len(modules) == 1:  # ls1 / ls2 (LayerScale gains)
    return f"{prefix}.{leaf}.gamma", "plain"
  return f"{prefix}.{_IN_BLOCK[modules[1]]}.{_LEAF[leaf]}", "linear" if leaf == "kernel" else "plain"


def to_timm(params, fixed_positions=None) -> Dict[str, np.ndarray]:
  """Our ViT ``params`` -> timm's state dict (float32; no head).

  ``fixed_positions``: (kind, grid side) of a ViT whose position embeddings
  are a fixed table (MoCo v3's, MAE's) rather than a parameter; the table
  at that grid, with a zero row for the CLS token, is written as timm's
  learned ``pos_embed``, which then computes the same features at that
  resolution.
  """
  out = {}
  for path, value in flax.traverse_util.flatten_dict(flax.core.unfreeze(params)).items():
    if path == ("mask_token",):  # iBOT's pretraining input, not the backbone's
      continue
    name, kind = _timm_name(path)
    out[name] = np.ascontiguousarray(_LAYOUT[kind][0](np.asarray(value, np.float32)))
  if fixed_positions is not None:
    kind, side = fixed_positions
    dim = out["cls_token"].shape[-1]
    table = np.asarray(fixed_position_table(kind, side, side, dim)).reshape(side * side, dim)
    out["pos_embed"] = np.concatenate([np.zeros((1, dim), np.float32), table])[None]
  return out


def from_timm(state_dict, like) -> Dict:
  """timm's state dict -> our params, in the structure of ``like`` (our
  params or their shapes, which fix the depth and what is present);
  ``head.*`` is ignored, anything else missing or extra is an error."""
  wanted_shapes = {path: np.shape(value) for path, value in
                   flax.traverse_util.flatten_dict(flax.core.unfreeze(like)).items()}
  by_name = {}
  for path in wanted_shapes:
    name, kind = _timm_name(path)
    by_name[name] = (kind, path)
  extra = sorted(set(state_dict) - set(by_name) - {n for n in state_dict if n.startswith("head.")})
  missing = sorted(set(by_name) - set(state_dict))
  if extra or missing:
    raise ValueError(f"not this ViT's state dict: missing {missing[:5]}, unexpected {extra[:5]}")
  flat = {}
  for name, (kind, path) in by_name.items():
    value = _LAYOUT[kind][1](np.asarray(state_dict[name], np.float32))
    want = tuple(wanted_shapes[path])
    if value.shape != want:
      raise ValueError(f"{name} of shape {np.shape(state_dict[name])} does not fit this ViT "
                       f"({want} in ssl_jax's layout)")
    flat[path] = value
  return flax.traverse_util.unflatten_dict(flat)


def architecture(state_dict, names) -> Dict[str, Any]:
  """The model dict (name, registers, layerscale) of a timm-layout ViT
  state dict; ``names``: our ViT names -> (size, patch).  LayerScale's
  value there only says the gains exist: the loaded ones replace it."""
  dim, _, patch, _ = np.shape(state_dict["patch_embed.proj.weight"])
  stem_convs = sum(1 for k in state_dict if _STEM_CONV.fullmatch(k))
  if stem_convs:  # a convolutional stem: each layer halves the side, then a 1x1 projection
    patch = 2 ** stem_convs
  depth = 1 + max(int(k.split(".")[1]) for k in state_dict if k.startswith("blocks."))
  ours = {(SIZES[size][:2], p): name for name, (size, p) in names.items()}
  name = ours.get(((dim, depth), patch))
  if name is None:
    raise ValueError(f"a ViT of width {dim}, depth {depth} and {patch} px patches is not one "
                     f"of ssl_jax's ({', '.join(names)})")
  registers = np.shape(state_dict["reg_token"])[1] if "reg_token" in state_dict else 0
  return {"name": name, "registers": registers,
          "layerscale": 1.0 if "blocks.0.ls1.gamma" in state_dict else None,
          "patch_stem": "conv" if stem_convs else "linear"}
