"""Host-side (tf.data) geometric augmentations: random resized crop and flip.

Everything is stateless: a view is a pure function of the image and a
``[2]`` int seed, so a batch is a pure function of (seed, step) and resuming
at step s reproduces the batches of an uninterrupted run.
"""
import tensorflow as tf

# torchvision.transforms.RandomResizedCrop's default aspect-ratio range.
ASPECT_RATIO = (3.0 / 4.0, 4.0 / 3.0)


def sample_crop_window(image_shape, seed, min_scale, max_scale):
  """Random crop window (offset [3], size [3]) covering [min, max] of the area.

  Log-uniform-ish aspect ratio in [3/4, 4/3] with 10 attempts, falling back
  to the whole image, like RandomResizedCrop.
  """
  begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
      image_shape,
      bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], tf.float32, [1, 1, 4]),
      seed=seed,
      min_object_covered=0.0,
      aspect_ratio_range=ASPECT_RATIO,
      area_range=(min_scale, max_scale),
      max_attempts=10,
      use_image_if_no_bounding_boxes=True)
  return begin, size


def to_uint8(pixels):
  """Float pixels (a resize's output) rounded and clipped to uint8."""
  return tf.cast(tf.clip_by_value(tf.round(pixels), 0, 255), tf.uint8)


def resize_uint8(image, size):
  """Bicubic, antialiased resize to [size, size, 3] uint8 (torchvision's BICUBIC).

  An image no larger than the output on either side is enlarged, where the
  antialiasing filter is the plain bicubic one: TensorFlow's bicubic resize
  computes it three times faster than the general antialiased op (the two
  agree to 0.05 of a grey level before rounding).
  """
  shape = tf.shape(image)
  enlarge = tf.logical_and(shape[0] <= size, shape[1] <= size)
  out = tf.cond(enlarge,
                lambda: tf.image.resize(image, (size, size), method="bicubic"),
                lambda: tf.image.resize(image, (size, size), method="bicubic",
                                        antialias=True))
  return to_uint8(out)


def flip_drawn(seed, prob):
  """Whether a view is mirrored: bool scalar, a pure function of ``seed``."""
  return tf.random.stateless_uniform([], seed) < prob


def random_flip(image, seed, prob):
  return tf.cond(flip_drawn(seed, prob), lambda: tf.image.flip_left_right(image),
                 lambda: image)


def _view(image, begin, size, flip_seed, spec):
  """The window (begin, size) of ``image`` resized to the view and flipped."""
  view = resize_uint8(tf.slice(image, begin, size), spec.size)
  return random_flip(view, flip_seed, spec.flip_prob)


def _crop_and_flip_seeds(seed):
  """A view's seed [2] -> (crop seed, flip seed)."""
  return tf.unstack(tf.random.experimental.stateless_split(seed, 2))


def crop_and_flip(image, seed, spec):
  """One view of a decoded uint8 image [H, W, 3]: crop, resize, flip."""
  crop_seed, flip_seed = _crop_and_flip_seeds(seed)
  begin, size = sample_crop_window(tf.shape(image), crop_seed, spec.min_scale,
                                   spec.max_scale)
  return _view(image, begin, size, flip_seed, spec)


def crop_views(image, seeds, specs):
  """The views of a decoded image, view v cut by ``crop_and_flip`` with
  ``seeds[v]`` (seeds: int [V, 2])."""
  return tuple(crop_and_flip(image, seeds[v], spec) for v, spec in enumerate(specs))


# Scaled JPEG decoding (libjpeg's IDCT at 1/2, 1/4, 1/8 resolution).
DCT_RATIOS = (1, 2, 4, 8)


def dct_ratio_index(window_sizes, view_sizes):
  """Index into ``DCT_RATIOS`` of the largest ratio r at which every crop
  window, shrunk r times, still holds at least its view's pixels (int32
  scalar; 0, i.e. full resolution, if none does).

  window_sizes: per view a [3] (height, width, channels) in full-resolution
  pixels; view_sizes: the views' output sizes.  A window of h x w pixels
  for an S x S view allows r when min(h, w) / r >= S: the view is then a
  downscale either way, and the IDCT's reduction replaces part of the
  resize's antialiasing filter.
  """
  shortest = tf.reduce_min(tf.stack([
      tf.cast(tf.minimum(w[0], w[1]), tf.float32) / size
      for w, size in zip(window_sizes, view_sizes)]))
  return tf.add_n([tf.cast(shortest >= r, tf.int32) for r in DCT_RATIOS[1:]])


def _scaled_window(begin, size, ratio, decoded_shape):
  """A full-resolution window in the coordinates of a decode ``ratio`` times
  smaller (libjpeg's scaled size is ceil(H / r)): both edges rounded to the
  nearest scaled pixel, at least one pixel, inside the image."""
  def edges(start, length, limit):
    first = tf.minimum((2 * start + ratio) // (2 * ratio), limit - 1)
    last = tf.clip_by_value((2 * (start + length) + ratio) // (2 * ratio), first + 1, limit)
    return first, last - first
  top, height = edges(begin[0], size[0], decoded_shape[0])
  left, width = edges(begin[1], size[1], decoded_shape[1])
  return tf.stack([top, left, 0]), tf.stack([height, width, -1])


class _ViewDraws:
  """The crop and flip seeds of an example's views (``seeds``: int [V, 2]),
  split as ``crop_and_flip`` splits them."""

  def __init__(self, seeds, specs):
    pairs = [_crop_and_flip_seeds(seeds[v]) for v in range(len(specs))]
    self.specs = specs
    self.crop_seeds = [crop for crop, _ in pairs]
    self.flip_seeds = [flip for _, flip in pairs]

  def windows(self, shape):
    """Each view's crop window (begin [3], size [3]) on an image of ``shape``."""
    return [sample_crop_window(shape, seed, spec.min_scale, spec.max_scale)
            for seed, spec in zip(self.crop_seeds, self.specs)]


def _scaled_jpeg(encoded, windows, specs):
  """The JPEG decoded at the largest DCT ratio every window allows:
  (uint8 image, ratio)."""
  index = dct_ratio_index([size for _, size in windows], [spec.size for spec in specs])
  image = tf.switch_case(index, [
      lambda r=r: tf.io.decode_jpeg(encoded, channels=3, ratio=r) for r in DCT_RATIOS])
  return image, tf.gather(tf.constant(DCT_RATIOS, tf.int32), index)


def decode_views(encoded, seeds, specs):
  """Every view of one encoded image from a single decode.

  encoded: tf.string scalar (JPEG, PNG, ...); seeds: int [V, 2], one per
  view; specs: V ``ViewSpec``s.  Returns V uint8 [S_v, S_v, 3] views.  The
  crop windows are drawn on the full-resolution shape exactly as
  ``crop_and_flip`` draws them (same seed, same window), so with a decode
  at full resolution every view equals ``crop_and_flip`` of the decoded
  image.  A JPEG whose windows all allow it (``dct_ratio_index``) is
  decoded at 1/2, 1/4 or 1/8 scale instead: fewer pixels to decode and
  resize, views within a few grey levels of the full decode.
  """
  draws = _ViewDraws(seeds, specs)

  def jpeg():
    shape = tf.image.extract_jpeg_shape(encoded)
    windows = draws.windows(shape)
    image, ratio = _scaled_jpeg(encoded, windows, specs)
    return tuple(_view(image, *_scaled_window(begin, size, ratio, tf.shape(image)),
                       flip_seed, spec)
                 for spec, (begin, size), flip_seed in zip(specs, windows, draws.flip_seeds))

  def other():  # PNG and other formats: full decode
    return crop_views(tf.io.decode_image(encoded, channels=3, expand_animations=False),
                      seeds, specs)

  return tf.cond(tf.io.is_jpeg(encoded), jpeg, other)


def _on_canvas(image, full_shape, windows, draws, canvas):
  """``image`` (a decode of an image of ``full_shape``, possibly scaled) on a
  zero canvas [canvas, canvas, 3], shrunk to fit if larger, with the
  full-resolution windows mapped onto it."""
  shape = tf.shape(image)
  fits = tf.reduce_max(shape[:2]) <= canvas
  fit_scale = canvas / tf.cast(tf.reduce_max(shape[:2]), tf.float32)
  fitted = tf.cast(tf.round(tf.cast(shape[:2], tf.float32) * fit_scale), tf.int32)
  image = tf.cond(fits, lambda: image, lambda: to_uint8(tf.image.resize(
      image, tf.maximum(fitted, 1), method="bicubic", antialias=True)))
  placed = tf.cast(tf.shape(image)[:2], tf.float32)
  scale = placed / tf.cast(full_shape[:2], tf.float32)  # (y, x)
  boxes = tf.stack([tf.concat([tf.cast(begin[:2], tf.float32) * scale,
                               tf.cast(size[:2], tf.float32) * scale], 0)
                    for begin, size in windows])
  flips = tf.stack([flip_drawn(seed, spec.flip_prob)
                    for seed, spec in zip(draws.flip_seeds, draws.specs)])
  return {"canvas": tf.image.pad_to_bounding_box(image, 0, 0, canvas, canvas),
          "windows": boxes, "flip": flips}


def canvas_views(encoded, seeds, specs, canvas):
  """What ``decode_views`` cuts, left for the accelerator to cut.

  Returns {"canvas": uint8 [C, C, 3], the image decoded once (at the DCT
  scale ``decode_views`` would use) at the top left of a zero canvas,
  shrunk to fit if larger; "windows": float32 [V, 4], each view's crop
  window (top, left, height, width) on the canvas: the windows
  ``decode_views`` draws, same seeds; "flip": bool [V]}.
  ``train.augment.cut_views`` makes the views of it.  ``encoded`` may
  also be a decoded uint8 [H, W, 3] image.
  """
  draws = _ViewDraws(seeds, specs)

  def place(image, full_shape, windows=None):
    windows = draws.windows(full_shape) if windows is None else windows
    return _on_canvas(image, full_shape, windows, draws, canvas)

  if encoded.dtype == tf.uint8:  # already decoded
    return place(encoded, tf.shape(encoded))

  def jpeg():
    shape = tf.image.extract_jpeg_shape(encoded)
    windows = draws.windows(shape)
    return place(_scaled_jpeg(encoded, windows, specs)[0], shape, windows)

  def other():
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return place(image, tf.shape(image))

  return tf.cond(tf.io.is_jpeg(encoded), jpeg, other)


def center_view(image, size, crop_fraction):
  """Evaluation view: resize the shorter side to size / crop_fraction, then
  take the central size x size crop (ImageNet's 256 -> 224 with 0.875)."""
  shape = tf.shape(image)
  h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
  short = tf.cast(tf.math.ceil(size / crop_fraction), tf.float32)
  scale = short / tf.minimum(h, w)
  new_h = tf.cast(tf.round(h * scale), tf.int32)
  new_w = tf.cast(tf.round(w * scale), tf.int32)
  resized = tf.image.resize(image, (new_h, new_w), method="bicubic", antialias=True)
  top = (new_h - size) // 2
  left = (new_w - size) // 2
  return to_uint8(resized[top:top + size, left:left + size])
