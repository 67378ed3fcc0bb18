"""The built-in synthetic dataset: deterministic, balanced, hard for raw pixels."""
import numpy as np

from ssl_jax.data import synthetic


def test_deterministic_and_balanced():
  a_img, a_lab = synthetic.generate("test", 32, seed=0, num_examples=200)
  b_img, b_lab = synthetic.generate("test", 32, seed=0, num_examples=200)
  np.testing.assert_array_equal(a_img, b_img)
  np.testing.assert_array_equal(a_lab, b_lab)
  assert a_img.dtype == np.uint8 and a_img.shape == (200, 32, 32, 3)
  assert np.bincount(a_lab).tolist() == [20] * synthetic.NUM_CLASSES
  other, _ = synthetic.generate("test", 32, seed=1, num_examples=200)
  assert not np.array_equal(a_img, other)


def test_train_and_test_are_different_draws():
  train, _ = synthetic.generate("train", 16, num_examples=100)
  test, _ = synthetic.generate("test", 16, num_examples=100)
  assert not np.array_equal(train, test)


def test_raw_pixel_knn_is_far_below_a_trained_encoder():
  """Position, scale and colour dominate pixel distances: weighted k-NN on raw
  pixels gets ~37 % (chance 10 %), the quickstart's encoder ~85 %."""
  train, train_y = synthetic.generate("train", 32, num_examples=4000)
  test, test_y = synthetic.generate("test", 32, num_examples=500)
  flat = lambda x: x.reshape(len(x), -1).astype(np.float32) / 255.0
  a, b = flat(train), flat(test)
  a -= a.mean(1, keepdims=True)
  b -= b.mean(1, keepdims=True)
  a /= np.linalg.norm(a, axis=1, keepdims=True)
  b /= np.linalg.norm(b, axis=1, keepdims=True)
  sims = b @ a.T
  top = np.argsort(-sims, axis=1)[:, :20]
  votes = np.zeros((len(b), synthetic.NUM_CLASSES))
  for c in range(synthetic.NUM_CLASSES):
    votes[:, c] = (np.exp(np.take_along_axis(sims, top, 1) / 0.07) * (train_y[top] == c)).sum(1)
  accuracy = (votes.argmax(1) == test_y).mean()
  assert 0.1 < accuracy < 0.45, accuracy


def test_factors_are_the_ones_each_image_was_drawn_with():
  images, labels, factors = synthetic.generate_with_factors("test", 24, num_examples=400)
  # The images the data had before the factors were returned (pixel sum and
  # labels of the earlier generator; the sum leaves room for a last-ulp
  # difference of float32 sin/cos across CPUs to flip a few pixels).
  assert abs(int(images.astype(np.int64).sum()) - 84_979_111) <= 400
  assert labels[:12].tolist() == [4, 6, 5, 8, 2, 9, 3, 0, 2, 4, 7, 7]
  disks = np.flatnonzero(labels == synthetic.CLASS_NAMES.index("disk"))
  # A disk covers its centre: the pixel there has the drawn colour.
  row = ((factors["y"][disks] + 1) / 2 * 24).astype(int)
  col = ((factors["x"][disks] + 1) / 2 * 24).astype(int)
  centre = images[disks, row, col] / 255.0
  close = np.abs(centre - factors["rgb"][disks]).max(1) < 0.01
  assert close.mean() > 0.95  # a clutter speck may cover a centre
  # Polarity: the shape's brightest channel against the mid-grey background.
  np.testing.assert_array_equal(factors["polarity"][disks][close],
                                centre[close].max(1) > 0.5)
  assert 0.35 < factors["polarity"].mean() < 0.65
  assert all(v.shape[0] == 400 for v in factors.values())
