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


def resize_uint8(image, size):
  """Bicubic, antialiased resize to [size, size, 3] uint8 (torchvision's BICUBIC)."""
  out = tf.image.resize(image, (size, size), method="bicubic", antialias=True)
  return tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)


def random_flip(image, seed, prob):
  flip = tf.random.stateless_uniform([], seed) < prob
  return tf.cond(flip, lambda: tf.image.flip_left_right(image), lambda: image)


def crop_and_flip(image, seed, spec):
  """One view of a decoded uint8 image [H, W, 3]: crop, resize, flip."""
  crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  begin, size = sample_crop_window(tf.shape(image), crop_seed, spec.min_scale,
                                   spec.max_scale)
  view = resize_uint8(tf.slice(image, begin, size), spec.size)
  return random_flip(view, flip_seed, spec.flip_prob)


def _decode_crop(encoded, crop_seed, spec):
  """Crop window of an encoded image; JPEG decodes only the window."""
  def fused():
    shape = tf.image.extract_jpeg_shape(encoded)
    begin, size = sample_crop_window(shape, crop_seed, spec.min_scale, spec.max_scale)
    window = tf.stack([begin[0], begin[1], size[0], size[1]])
    return tf.image.decode_and_crop_jpeg(encoded, window, channels=3)

  def full():  # PNG and other formats: decode, then crop
    image = tf.io.decode_image(encoded, channels=3, expand_animations=False)
    begin, size = sample_crop_window(tf.shape(image), crop_seed, spec.min_scale,
                                     spec.max_scale)
    return tf.slice(image, begin, size)

  return tf.cond(tf.io.is_jpeg(encoded), fused, full)


def decode_crop_and_flip(encoded, seed, spec):
  """One view straight from encoded bytes (JPEG: fused decode-and-crop)."""
  crop_seed, flip_seed = tf.unstack(tf.random.experimental.stateless_split(seed, 2))
  view = resize_uint8(_decode_crop(encoded, crop_seed, spec), spec.size)
  return random_flip(view, flip_seed, spec.flip_prob)


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
  crop = resized[top:top + size, left:left + size]
  return tf.cast(tf.clip_by_value(tf.round(crop), 0, 255), tf.uint8)
