"""The per-channel statistics each dataset's images are normalised with,
known without loading the dataset (and without TensorFlow)."""

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Per-channel (mean, std) the images are normalised with; ImageNet's otherwise.
_NORMALIZATION = {
    "synthetic": ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    "synthetic_gray": ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    "digits": ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25)),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
}


def normalization(name: str):
  """(mean, std) per channel for dataset ``name``, known without loading it."""
  return _NORMALIZATION.get(name, (IMAGENET_MEAN, IMAGENET_STD))
