"""python -m ssl_jax.main --config=configs/simsiam_imagenet.py --workdir=DIR

SimSiam on ImageNet, 100 epochs (Chen & He 2021, Section 4 and Table 4;
facebookresearch/simsiam main_simsiam.py defaults): ResNet-50 with
zero-initialised residual branches, projector 3 layers 2048 -> 2048 ending
in BN without affine, predictor 512 hidden -> 2048, SGD lr 0.05 x batch/256,
momentum 0.9, weight decay 1e-4 on every parameter, cosine without warm-up,
the predictor's lr held at the peak (the README's --fix-pred-lr), batch 512,
MoCo v2's aug+ views.
"""
from configs import _imagenet, common


def get_config():
  c = _imagenet.imagenet(
      common.method("simsiam",
                    projector=common.head(2048, 2048, 3, last_bn=True, last_bn_affine=False),
                    predictor=common.head(512, 2048)),
      "mocov2_imagenet", "sgd", lr=0.05, weight_decay=1e-4, batch_size=512, epochs=100,
      warmup_epochs=0.0, exclude_bias_and_norm=False)
  c.model.zero_init_residual = True
  c.optim.constant_lr_parts = ("predictor",)
  return c.lock()
