"""The recipes every config must reproduce, written from the papers and the
official repositories (not from the configs): one row per config (and per
argument of the configs that take one), its source, and the values.

Keys are dotted config keys, plus:
  ``peak_lr``: the learning rate the source states, base_lr x batch / 256;
  ``view<i>.<field>``: a field of view i of the config's view preset;
  ``num_views``: how many views the preset has;
  ``warmup_steps``: warm-up epochs x the dataset's steps per epoch.
tests/test_config.py asserts every row against the configs and that every
config file has rows.
"""

_BYOL_VIEWS = {"num_views": 2, "view0.min_scale": 0.08, "view0.brightness": 0.4,
               "view0.saturation": 0.2, "view0.hue": 0.1, "view0.blur_prob": 1.0,
               "view0.solarize_prob": 0.0, "view1.blur_prob": 0.1,
               "view1.solarize_prob": 0.2}
_STRENGTH_1 = {"view0.brightness": 0.8, "view0.contrast": 0.8, "view0.saturation": 0.8,
               "view0.hue": 0.2, "view0.gray_prob": 0.2}
_SOLO_CIFAR = {"model.name": "resnet18", "model.stem": "cifar", "train.batch_size": 256,
               "train.epochs": 1000, "optim.warmup_epochs": 10.0,
               "optim.trust_coefficient": 0.02}

_INTL_IMAGENET = {
    "method.name": "intl", "method.projector.hidden_dim": 8192,
    "method.projector.out_dim": 8192, "method.projector.num_layers": 3, "method.iters": 4,
    "model.name": "resnet50", "model.zero_init_residual": True, "train.batch_size": 256,
    "optim.name": "sgd", "optim.momentum": 0.9, "optim.weight_decay": 1e-5,
    "optim.warmup_epochs": 2.0, **_BYOL_VIEWS}

_SCE_SMALL = {
    "method.name": "sce", "method.projector.hidden_dim": 512, "method.projector.out_dim": 256,
    "method.projector.num_layers": 2, "method.predictor": None, "method.lam": 0.5,
    "method.symmetric": False, "model.name": "resnet18", "model.stem": "cifar",
    "train.batch_size": 256, "train.epochs": 200, "optim.name": "sgd", "peak_lr": 0.06,
    "optim.weight_decay": 5e-4, "optim.warmup_epochs": 5.0, "view0.min_scale": 0.2,
    "view0.brightness": 0.4, "view0.saturation": 0.4, "view0.hue": 0.1,
    "view0.blur_prob": 0.5, "view1.jitter_prob": 0.0, "view1.gray_prob": 0.0,
    "view1.blur_prob": 0.0}

_MIO = {
    "method.name": "mio", "method.projector.hidden_dim": 2048, "method.projector.out_dim": 128,
    "method.projector.num_layers": 3, "method.projector.last_bn": True,
    "method.temperature_pos": 0.5, "method.temperature_neg": 0.5, "method.lam": 1.0,
    "model.name": "resnet50", "train.epochs": 250, "optim.name": "lars", "peak_lr": 1.5,
    "optim.weight_decay": 1e-6, "optim.warmup_epochs": 10.0, "optim.warmup_start_lr": 1e-4,
    "optim.decay_epochs": 1000.0, "view0.min_scale": 0.8, "view0.brightness": 0.4,
    "view0.contrast": 0.4, "view0.saturation": 0.4, "view0.hue": 0.1,
    "view0.gray_prob": 0.2}

_MIRA = {
    "method.name": "mira", "method.num_prototypes": 3000, "method.tau_s": 0.1,
    "method.tau_t": 0.225, "method.beta_end": 2.0 / 3.0, "method.iters": 30,
    "method.ema_momentum": 0.99, "method.freeze_prototypes_epochs": 1.0,
    "optim.warmup_epochs": 10.0, "model.zero_init_residual": True, "eval.use_ema": True}

_LINEAR = {"job": "linear_eval", "optim.backbone_base_lr": 0.0}

RECIPES = {
    # ------------------------------------------------------------------ INTL
    "intl_imagenet.py:100": ("INTL Table A; winci-ai/INTL scripts/ep100_multi-crop_ema.sh",
                             {**_INTL_IMAGENET, "train.epochs": 100, "optim.base_lr": 0.5}),
    "intl_imagenet.py:200": ("winci-ai/INTL scripts/ep200_multi-crop_ema.sh",
                             {**_INTL_IMAGENET, "train.epochs": 200, "optim.base_lr": 0.4}),
    "intl_imagenet.py:400": ("winci-ai/INTL scripts/ep400_multi-crop_ema.sh",
                             {**_INTL_IMAGENET, "train.epochs": 400, "optim.base_lr": 0.4}),
    "intl_imagenet.py:800": ("winci-ai/INTL scripts/ep800.sh",
                             {**_INTL_IMAGENET, "train.epochs": 800, "optim.base_lr": 0.3}),
    "intl_imagenet100.py": ("INTL Table C; scripts/in100.sh", {
        "method.projector.hidden_dim": 4096, "method.projector.out_dim": 4096,
        "model.name": "resnet18", "data.name": "imagenet100", "train.batch_size": 128,
        "train.epochs": 400, "optim.base_lr": 0.5, "optim.weight_decay": 2.5e-5,
        "optim.warmup_epochs": 2.0, **_BYOL_VIEWS}),
    "intl_cifar10.py": ("INTL Tables E, F; scripts/cifar10.sh", {
        "method.projector.hidden_dim": 2048, "method.projector.out_dim": 2048,
        "model.name": "resnet18", "model.stem": "cifar", "train.batch_size": 256,
        "train.epochs": 1000, "optim.base_lr": 0.3, "optim.weight_decay": 1e-4,
        "optim.exclude_bias_and_norm": False, "view0.solarize_prob": 0.0,
        "view1.solarize_prob": 0.2, "view0.blur_prob": 0.0}),
    "intl_cifar100.py": ("INTL Tables E, F; scripts/cifar100.sh", {
        "data.name": "cifar100", "train.epochs": 1000, "optim.base_lr": 0.3,
        "optim.weight_decay": 1e-4}),
    # ------------------------------------------------------------------ MIRA
    "mira_imagenet.py": ("MIRA A.4.1; movinghoon/MIRA train.py defaults", {
        **_MIRA, "method.beta_start": 0.75, "method.projector.hidden_dim": 2048,
        "method.projector.out_dim": 256, "method.projector.num_layers": 3,
        "model.name": "resnet50", "train.batch_size": 4096, "train.epochs": 400,
        "optim.name": "lars", "optim.base_lr": 0.3, "optim.weight_decay": 1e-6,
        "optim.warmup_start_lr": 0.3, "num_views": 8, "view0.min_scale": 0.14,
        "view2.size": 96, "view2.max_scale": 0.14}),
    "mira_imagenet100.py": ("MIRA A.4.2 (solo-learn's ImageNet-100 setting)", {
        **_MIRA, "model.name": "resnet18", "data.name": "imagenet100",
        "train.batch_size": 512, "train.epochs": 400, "optim.name": "sgd",
        "optim.base_lr": 0.3, "optim.weight_decay": 1e-5, "optim.warmup_start_lr": 0.0,
        **_BYOL_VIEWS}),
    "mira_cifar10.py": ("MIRA A.4.2", {
        **_MIRA, "model.name": "resnet18", "model.stem": "cifar", "data.name": "cifar10",
        "train.batch_size": 256, "train.epochs": 1000, "optim.name": "sgd",
        "optim.base_lr": 0.3, "optim.weight_decay": 1e-5, "view0.min_scale": 0.2,
        "view0.blur_prob": 0.0, "view1.blur_prob": 0.0}),
    "mira_cifar100.py": ("MIRA A.4.2", {
        "data.name": "cifar100", "train.epochs": 1000, "optim.base_lr": 0.3,
        "view0.min_scale": 0.2}),
    # ------------------------------------------------------------------- SCE
    "sce_imagenet.py": ("juliendenize/eztorch run/pretrain/sce/resnet50/resnet50_imagenet.yaml", {
        "method.projector.hidden_dim": 4096, "method.projector.out_dim": 256,
        "method.projector.num_layers": 3, "method.predictor.hidden_dim": 4096,
        "method.predictor.last_bias": False, "method.lam": 0.5, "method.temperature": 0.1,
        "method.temperature_m": 0.07, "method.queue_size": 65536,
        "method.ema_momentum": 0.99, "method.symmetric": True, "model.name": "resnet50",
        "train.batch_size": 4096, "train.epochs": 200, "optim.name": "lars",
        "optim.base_lr": 0.3, "optim.weight_decay": 1e-6, "optim.warmup_epochs": 10.0}),
    "sce_imagenet100.py": ("SCE supplement E, F (medium datasets)", {
        **_SCE_SMALL, "model.stem": "imagenet", "data.name": "imagenet100",
        "method.temperature": 0.1, "method.temperature_m": 0.05, "method.queue_size": 16384,
        "method.ema_momentum": 0.996, "view0.size": 224}),
    "sce_cifar10.py": ("SCE supplement E; Table 2 (τ 0.2, τ_m 0.1: 90.34)", {
        **_SCE_SMALL, "data.name": "cifar10", "method.temperature": 0.2,
        "method.temperature_m": 0.1, "method.queue_size": 4096,
        "method.ema_momentum": 0.99, "view0.size": 32}),
    "sce_cifar100.py": ("SCE supplement E; Table 2 (τ 0.1, τ_m 0.08: 65.45)", {
        **_SCE_SMALL, "data.name": "cifar100", "method.temperature": 0.1,
        "method.temperature_m": 0.08, "method.queue_size": 4096,
        "method.ema_momentum": 0.99, "view0.size": 32}),
    "sce_stl10.py": ("SCE supplement E; Table 2 (τ 0.1, τ_m 0.04: 89.94)", {
        **_SCE_SMALL, "data.name": "stl10", "method.temperature": 0.1,
        "method.temperature_m": 0.04, "method.queue_size": 16384,
        "method.ema_momentum": 0.996, "view0.size": 96}),
    "sce_tiny_imagenet.py": ("SCE supplement E; Table 2 (τ 0.1, τ_m 0.07: 51.90)", {
        **_SCE_SMALL, "data.name": "folder", "method.temperature": 0.1,
        "method.temperature_m": 0.07, "method.queue_size": 16384,
        "method.ema_momentum": 0.996, "view0.size": 64}),
    # ------------------------------------------------------------------- MIO
    "mio_cifar10.py": ("MIO Section 3, Table 4 model (D); miossl MIOModel, MIOTransform(s=0.5)", {
        **_MIO, "model.stem": "cifar", "data.name": "cifar10", "train.batch_size": 128,
        "view0.size": 32, "view0.blur_prob": 0.0, "view0.solarize_prob": 0.0}),
    "mio_cifar100.py": ("MIO Table 4 model (D)", {
        **_MIO, "model.stem": "cifar", "data.name": "cifar100", "train.batch_size": 128,
        "view0.size": 32, "view0.solarize_prob": 0.0}),
    "mio_stl10.py": ("MIO Table 4 'Best' (model (D), batch 32); MIOTransform(s=0.5, l=96)", {
        **_MIO, "model.stem": "imagenet", "data.name": "stl10", "train.batch_size": 32,
        "view0.size": 96, "view0.blur_prob": 0.5, "view0.solarize_prob": 0.2}),
    # ---------------------------------------------- classics, solo-learn CIFAR
    "simclr_cifar10.py": ("solo-learn scripts/pretrain/cifar/simclr.yaml", {
        **_SOLO_CIFAR, "method.temperature": 0.2, "method.projector.hidden_dim": 2048,
        "method.projector.out_dim": 256, "optim.name": "lars", "optim.base_lr": 0.4,
        "optim.weight_decay": 1e-5}),
    "mocov2_cifar10.py": ("solo-learn scripts/pretrain/cifar/mocov2plus.yaml", {
        **_SOLO_CIFAR, "method.temperature": 0.2, "method.queue_size": 32768,
        "method.ema_momentum": 0.99, "method.projector.hidden_bn": False,
        "optim.name": "sgd", "optim.base_lr": 0.3, "optim.weight_decay": 1e-4}),
    "mocov3_cifar10.py": ("solo-learn scripts/pretrain/cifar/mocov3.yaml", {
        **_SOLO_CIFAR, "method.temperature": 0.2, "method.ema_momentum": 0.99,
        "method.projector.hidden_dim": 4096, "optim.name": "lars", "optim.base_lr": 0.3,
        "optim.weight_decay": 1e-5}),
    "byol_cifar10.py": ("solo-learn scripts/pretrain/cifar/byol.yaml", {
        **_SOLO_CIFAR, "method.ema_momentum": 0.99, "method.projector.hidden_dim": 4096,
        "method.predictor.hidden_dim": 4096, "optim.name": "lars", "optim.base_lr": 1.0,
        "optim.weight_decay": 1e-5}),
    "simsiam_cifar10.py": ("solo-learn scripts/pretrain/cifar/simsiam.yaml", {
        **_SOLO_CIFAR, "method.predictor.hidden_dim": 512, "optim.name": "sgd",
        "optim.base_lr": 0.5, "optim.weight_decay": 1e-5}),
    "swav_cifar10.py": ("solo-learn scripts/pretrain/cifar/swav.yaml", {
        **_SOLO_CIFAR, "method.num_prototypes": 3000, "method.temperature": 0.1,
        "method.epsilon": 0.05, "method.sinkhorn_iters": 3,
        "method.freeze_prototypes_epochs": 2.0, "optim.name": "lars", "optim.base_lr": 0.6,
        "optim.weight_decay": 1e-6}),
    "deepclusterv2_cifar10.py": ("solo-learn scripts/pretrain/cifar/deepclusterv2.yaml", {
        **_SOLO_CIFAR, "optim.warmup_epochs": 11.0, "method.num_prototypes": (3000, 3000, 3000),
        "method.temperature": 0.1, "method.kmeans_iters": 10,
        "method.projector.hidden_dim": 2048, "method.projector.out_dim": 128,
        "optim.name": "lars", "optim.base_lr": 0.6, "optim.end_lr_ratio": 0.001,
        "optim.weight_decay": 1e-6}),
    "dino_cifar10.py": ("solo-learn scripts/pretrain/cifar/dino.yaml, solo/methods/dino.py", {
        **_SOLO_CIFAR, "method.num_prototypes": 4096, "method.projector.hidden_dim": 2048,
        "method.projector.out_dim": 256, "method.projector.hidden_bn": False,
        "method.projector.activation": "gelu", "method.student_temp": 0.1,
        "method.teacher_temp": 0.07, "method.warmup_teacher_temp_epochs": 0,
        "method.freeze_prototypes_epochs": 1.0, "method.ema_momentum": 0.9995,
        "optim.name": "lars", "optim.base_lr": 0.3, "optim.weight_decay": 1e-6,
        "optim.clip_grad": None}),
    "ressl_cifar10.py": ("solo-learn scripts/pretrain/cifar/ressl.yaml", {
        **_SOLO_CIFAR, "method.projector.hidden_dim": 4096, "method.projector.out_dim": 256,
        "method.projector.hidden_bn": False, "method.temperature": 0.1,
        "method.temperature_m": 0.04, "method.queue_size": 65536, "method.ema_momentum": 0.99,
        "optim.name": "sgd", "optim.base_lr": 0.05, "optim.weight_decay": 1e-4,
        "num_views": 2, "view0.min_scale": 0.08, "view0.saturation": 0.2,
        "view0.blur_prob": 0.5, "view1.jitter_prob": 0.0, "view1.gray_prob": 0.0}),
    "nnclr_cifar10.py": ("solo-learn scripts/pretrain/cifar/nnclr.yaml", {
        **_SOLO_CIFAR, "method.projector.hidden_dim": 2048, "method.projector.out_dim": 256,
        "method.projector.num_layers": 3, "method.projector.last_bn": True,
        "method.predictor.hidden_dim": 4096, "method.temperature": 0.2,
        "method.queue_size": 65536, "optim.name": "lars", "optim.base_lr": 0.4,
        "optim.weight_decay": 1e-5}),
    "vibcreg_cifar10.py": ("solo-learn scripts/pretrain/cifar/vibcreg.yaml", {
        **_SOLO_CIFAR, "method.projector.hidden_dim": 2048, "method.projector.out_dim": 2048,
        "method.projector.num_layers": 3, "method.projector.activation": "gelu",
        "method.projector.last_iternorm_groups": 64, "method.sim_weight": 25.0,
        "method.var_weight": 25.0, "method.cov_weight": 200.0, "optim.name": "lars",
        "optim.base_lr": 0.3, "optim.weight_decay": 1e-4, "view0.min_scale": 0.2,
        "view0.solarize_prob": 0.1, "view0.blur_prob": 0.0, "view1.solarize_prob": 0.1}),
    "barlow_twins_cifar10.py": ("solo-learn scripts/pretrain/cifar/barlow.yaml", {
        **_SOLO_CIFAR, "method.lambd": 0.0051, "method.scale": 0.1,
        "method.projector.hidden_dim": 2048, "optim.name": "lars", "optim.base_lr": 0.3,
        "optim.weight_decay": 1e-4}),
    "vicreg_cifar10.py": ("solo-learn scripts/pretrain/cifar/vicreg.yaml", {
        **_SOLO_CIFAR, "method.sim_weight": 25.0, "method.var_weight": 25.0,
        "method.cov_weight": 1.0, "optim.name": "lars", "optim.base_lr": 0.3,
        "optim.weight_decay": 1e-4}),
    "wmse_cifar10.py": ("htdt/self-supervised README (cifar10, --lr 3e-3 --emb 64) and cfg.py", {
        "model.name": "resnet18", "model.stem": "cifar", "train.batch_size": 512,
        "train.epochs": 1000, "method.projector.hidden_dim": 1024,
        "method.projector.out_dim": 64, "method.whiten_size": 128, "method.whiten_iters": 1,
        "method.detach_second": False, "optim.name": "adam", "peak_lr": 3e-3,
        "optim.weight_decay": 1e-6, "optim.exclude_bias_and_norm": False,
        "warmup_steps": 500, "optim.schedule": "multistep", "optim.milestones": (950, 975),
        "optim.gamma": 0.2, "view0.min_scale": 0.2, "view0.gray_prob": 0.1,
        "view0.saturation": 0.4}),
    # ----------------------------------------- classics, official ImageNet
    "simclr_imagenet.py": ("SimCLR Section 2.3 and B.1; google-research/simclr run.py", {
        "method.temperature": 0.1, "method.projector.hidden_dim": 2048,
        "method.projector.out_dim": 128, "method.projector.last_bn": True,
        "method.projector.last_bias": False, "train.batch_size": 4096, "train.epochs": 100,
        "optim.name": "lars", "peak_lr": 4.8, "optim.weight_decay": 1e-6,
        "optim.warmup_epochs": 10.0, "view0.blur_prob": 0.5, **_STRENGTH_1}),
    "mocov2_imagenet.py": ("facebookresearch/moco README (MoCo v2, 200 epochs)", {
        "method.temperature": 0.2, "method.queue_size": 65536, "method.ema_momentum": 0.999,
        "method.symmetric": False, "method.ema_anneal": False,
        "method.projector.hidden_bn": False, "method.projector.out_dim": 128,
        "train.batch_size": 256, "train.epochs": 200, "optim.name": "sgd", "peak_lr": 0.03,
        "optim.weight_decay": 1e-4, "optim.warmup_epochs": 0.0,
        "optim.exclude_bias_and_norm": False, "view0.min_scale": 0.2,
        "view0.saturation": 0.4, "view0.blur_prob": 0.5}),
    "mocov3_imagenet.py": ("facebookresearch/moco-v3 CONFIG.md (ResNet-50, 100 epochs), main_moco.py", {
        "method.temperature": 1.0, "method.ema_momentum": 0.99,
        "method.projector.hidden_dim": 4096, "method.projector.out_dim": 256,
        "method.projector.num_layers": 2, "method.projector.last_bn_affine": False,
        "method.predictor.num_layers": 2, "method.predictor.last_bias": False,
        "model.zero_init_residual": True, "train.batch_size": 4096, "train.epochs": 100,
        "optim.name": "lars", "optim.base_lr": 0.6, "optim.weight_decay": 1e-6,
        "optim.warmup_epochs": 10.0, "view0.min_scale": 0.2, "view0.blur_prob": 1.0,
        "view1.solarize_prob": 0.2}),
    "byol_imagenet.py": ("BYOL Section 3.2, Appendix C", {
        "method.ema_momentum": 0.996, "method.projector.hidden_dim": 4096,
        "method.projector.out_dim": 256, "method.predictor.hidden_dim": 4096,
        "train.batch_size": 4096, "train.epochs": 1000, "optim.name": "lars",
        "optim.base_lr": 0.2, "optim.weight_decay": 1.5e-6, "optim.warmup_epochs": 10.0,
        **_BYOL_VIEWS}),
    "simsiam_imagenet.py": ("facebookresearch/simsiam main_simsiam.py defaults", {
        "method.projector.hidden_dim": 2048, "method.projector.out_dim": 2048,
        "method.projector.num_layers": 3, "method.projector.last_bn_affine": False,
        "method.predictor.hidden_dim": 512, "model.zero_init_residual": True,
        "train.batch_size": 512, "train.epochs": 100, "optim.name": "sgd",
        "optim.base_lr": 0.05, "optim.weight_decay": 1e-4, "optim.warmup_epochs": 0.0,
        "optim.exclude_bias_and_norm": False, "optim.constant_lr_parts": ("predictor",),
        "view0.min_scale": 0.2}),
    "dino_vits16_imagenet.py": ("facebookresearch/dino README (vanilla DINO) and main_dino.py", {
        "model.name": "vit_small16", "model.drop_path_rate": 0.1, "train.batch_size": 512,
        "train.epochs": 100, "method.num_prototypes": 65536, "method.projector.hidden_dim": 2048,
        "method.projector.out_dim": 256, "method.projector.num_layers": 3,
        "method.projector.hidden_bn": False, "method.projector.activation": "gelu",
        "method.student_temp": 0.1, "method.teacher_temp": 0.04,
        "method.center_momentum": 0.9, "method.freeze_prototypes_epochs": 1.0,
        "method.ema_momentum": 0.996, "optim.name": "adamw", "peak_lr": 5e-4 * 2,
        "optim.weight_decay": 0.04, "optim.weight_decay_end": 0.4, "optim.clip_grad": 3.0,
        "optim.warmup_epochs": 10.0, "num_views": 10, "view0.min_scale": 0.4,
        "view0.saturation": 0.2, "view0.blur_prob": 1.0, "view1.solarize_prob": 0.2,
        "view2.size": 96, "view2.min_scale": 0.05, "view2.max_scale": 0.4,
        "view2.blur_prob": 0.5}),
    "ibot_vits16_imagenet.py": ("bytedance/ibot README (ViT-S/16, 800 epochs) and main_ibot.py", {
        "method.name": "ibot", "model.name": "vit_small16", "model.drop_path_rate": 0.1,
        "train.batch_size": 1024, "train.epochs": 800, "method.num_prototypes": 8192,
        "method.projector.hidden_dim": 2048, "method.projector.out_dim": 256,
        "method.projector.num_layers": 3, "method.projector.hidden_bn": False,
        "method.projector.activation": "gelu", "method.student_temp": 0.1,
        "method.teacher_temp": 0.07, "method.warmup_teacher_temp": 0.04,
        "method.teacher_patch_temp": 0.07, "method.warmup_teacher_patch_temp": 0.04,
        "method.warmup_teacher_temp_epochs": 30, "method.pred_ratio": (0.0, 0.3),
        "method.pred_ratio_var": (0.0, 0.2), "method.freeze_prototypes_epochs": 1.0,
        "method.ema_momentum": 0.996, "method.norm_last_layer": False,
        "optim.name": "adamw", "peak_lr": 5e-4 * 4,
        "optim.weight_decay": 0.04, "optim.weight_decay_end": 0.4, "optim.clip_grad": 3.0,
        "optim.warmup_epochs": 10.0, "num_views": 12, "view0.min_scale": 0.25,
        "view0.saturation": 0.2, "view0.blur_prob": 1.0, "view1.blur_prob": 0.1,
        "view1.solarize_prob": 0.2, "view2.size": 96, "view2.min_scale": 0.05,
        "view2.max_scale": 0.25, "view2.blur_prob": 0.5, "view2.solarize_prob": 0.0}),
    "dino_resnet50_imagenet.py": ("facebookresearch/dino README (ResNet-50 command)", {
        "model.name": "resnet50", "train.batch_size": 512, "train.epochs": 100,
        "method.num_prototypes": 65536, "method.projector.out_dim": 256,
        "method.projector.activation": "gelu", "method.teacher_temp": 0.04,
        "optim.name": "sgd", "optim.momentum": 0.9, "peak_lr": 0.03 * 2,
        "optim.weight_decay": 1e-4, "optim.clip_grad": 3.0, "num_views": 10,
        "view0.min_scale": 0.14, "view2.size": 96, "view2.min_scale": 0.05,
        "view2.max_scale": 0.14}),
    "mae_vitb16_imagenet.py": ("facebookresearch/mae PRETRAIN.md and main_pretrain.py", {
        "method.name": "mae", "method.decoder_dim": 512, "method.decoder_depth": 8,
        "method.decoder_heads": 16, "method.mask_ratio": 0.75, "method.norm_pix_loss": True,
        "model.name": "vit_base16", "model.pos_embed": "sincos_mae", "train.batch_size": 4096,
        "train.epochs": 800, "optim.name": "adamw", "peak_lr": 1.5e-4 * 16,
        "optim.beta2": 0.95, "optim.weight_decay": 0.05, "optim.warmup_epochs": 40.0,
        "optim.end_lr_ratio": 0.0, "optim.exclude_bias_and_norm": True, "num_views": 1,
        "view0.size": 224, "view0.min_scale": 0.2, "view0.flip_prob": 0.5,
        "view0.jitter_prob": 0.0, "view0.gray_prob": 0.0}),
    "mocov3_vits16_imagenet.py": ("facebookresearch/moco-v3 CONFIG.md (ViT-Small, 1 node)", {
        "model.name": "vit_small16", "model.num_heads": 12, "model.pos_embed": "sincos",
        "model.freeze_patch_embed": True, "train.batch_size": 1024, "train.epochs": 300,
        "optim.name": "adamw", "peak_lr": 1.5e-4 * 4, "optim.weight_decay": 0.1,
        "optim.warmup_epochs": 40.0, "optim.end_lr_ratio": 0.0,
        "optim.exclude_bias_and_norm": False, "method.temperature": 0.2,
        "method.ema_momentum": 0.99, "method.projector.hidden_dim": 4096,
        "method.projector.out_dim": 256, "method.projector.num_layers": 3,
        "method.projector.last_bn_affine": False, "method.predictor.hidden_dim": 4096,
        "method.predictor.num_layers": 2, "view0.min_scale": 0.08}),
    "swav_imagenet.py": ("facebookresearch/swav scripts/swav_800ep_pretrain.sh", {
        "method.num_prototypes": 3000, "method.temperature": 0.1, "method.epsilon": 0.05,
        "method.sinkhorn_iters": 3, "method.projector.out_dim": 128,
        "method.freeze_prototypes_epochs": 1.0, "train.batch_size": 4096,
        "train.epochs": 800, "optim.name": "larc", "optim.trust_coefficient": 0.001,
        "peak_lr": 4.8,
        "optim.warmup_start_lr": 0.3, "optim.end_lr_ratio": 0.001,
        "optim.weight_decay": 1e-6, "optim.exclude_bias_and_norm": False, "num_views": 8,
        "view0.min_scale": 0.14, "view2.size": 96, "view2.min_scale": 0.05,
        "view2.max_scale": 0.14, "view2.blur_prob": 0.5, **_STRENGTH_1}),
    "deepclusterv2_imagenet.py": ("facebookresearch/swav scripts/deepclusterv2_800ep_pretrain.sh", {
        "method.num_prototypes": (3000, 3000, 3000), "method.temperature": 0.1,
        "method.kmeans_iters": 10, "method.projector.hidden_dim": 2048,
        "method.projector.out_dim": 128, "train.batch_size": 4096, "train.epochs": 800,
        "optim.name": "larc", "optim.trust_coefficient": 0.001, "peak_lr": 4.8,
        "optim.warmup_start_lr": 0.3, "optim.end_lr_ratio": 0.001,
        "optim.weight_decay": 1e-6, "optim.exclude_bias_and_norm": False, "num_views": 8,
        "view0.min_scale": 0.14, "view2.size": 96, "view2.min_scale": 0.05,
        "view2.max_scale": 0.14, "view2.blur_prob": 0.5, **_STRENGTH_1}),
    "barlow_twins_imagenet.py": ("facebookresearch/barlowtwins main.py defaults", {
        "method.lambd": 0.0051, "method.scale": 1.0, "method.projector.hidden_dim": 8192,
        "method.projector.out_dim": 8192, "method.projector.num_layers": 3,
        "train.batch_size": 2048, "train.epochs": 1000, "optim.name": "lars",
        "optim.base_lr": 0.2, "peak_lr": 0.2 * 2048 / 256, "optim.weight_decay": 1e-6,
        "optim.end_lr_ratio": 0.001, "optim.bias_lr_ratio": 0.0048 / 0.2, **_BYOL_VIEWS}),
    "vicreg_imagenet.py": ("VICReg Section 4.1; facebookresearch/vicreg main_vicreg.py", {
        "method.sim_weight": 25.0, "method.var_weight": 25.0, "method.cov_weight": 1.0,
        "method.projector.hidden_dim": 8192, "method.projector.num_layers": 3,
        "train.batch_size": 2048, "train.epochs": 1000, "optim.name": "lars",
        "optim.base_lr": 0.2, "optim.weight_decay": 1e-6, "optim.end_lr_ratio": 0.001,
        **_BYOL_VIEWS}),
    "wmse_imagenet100.py": ("htdt/self-supervised README (ImageNet-100) and cfg.py", {
        "model.name": "resnet18", "data.name": "imagenet100", "train.batch_size": 512,
        "train.epochs": 240, "method.projector.out_dim": 128, "method.whiten_size": 256,
        "optim.name": "adam", "peak_lr": 2e-3, "optim.weight_decay": 1e-6,
        "optim.exclude_bias_and_norm": False, "warmup_steps": 500,
        "optim.schedule": "multistep", "optim.milestones": (190, 215), "optim.gamma": 0.2,
        "view0.min_scale": 0.08,
        **_STRENGTH_1}),
    # ------------------------------------------------------------- evaluation
    "linear_eval.py:intl": ("INTL Appendix C", {
        **_LINEAR, "optim.name": "sgd", "optim.base_lr": 0.2, "train.batch_size": 256,
        "train.epochs": 100, "optim.schedule": "multistep", "optim.milestones": (60, 80),
        "optim.weight_decay": 0.0}),
    "linear_eval.py:intl_multicrop": ("INTL Appendix C (multi-crop + EMA)", {
        **_LINEAR, "optim.base_lr": 0.4, "train.epochs": 100}),
    "linear_eval.py:intl_cifar": ("winci-ai/INTL cifar/eval/evaluate.py eval_sgd", {
        **_LINEAR, "optim.name": "adam", "peak_lr": 1e-2, "train.batch_size": 1000,
        "train.epochs": 500, "optim.weight_decay": 5e-6, "optim.schedule": "exponential",
        "optim.gamma": (1e-6 / 1e-2) ** (1 / 500), "train.cached_features": True,
        "optim.exclude_bias_and_norm": False}),
    "linear_eval.py:mira": ("movinghoon/MIRA eval_linear.py defaults", {
        **_LINEAR, "optim.name": "sgd", "optim.base_lr": 0.075, "train.batch_size": 1024,
        "train.epochs": 100, "optim.schedule": "cosine", "optim.weight_decay": 0.0,
        "use_ema": True}),
    "linear_eval.py:mae_finetune": ("facebookresearch/mae FINETUNE.md (ViT-B)", {
        **_LINEAR, "optim.name": "adamw", "optim.base_lr": 5e-4,
        "optim.backbone_base_lr": 5e-4, "optim.layer_decay": 0.65, "optim.weight_decay": 0.05,
        "train.batch_size": 1024, "train.epochs": 100, "optim.warmup_epochs": 5.0,
        "optim.schedule": "cosine"}),
    "linear_eval.py:mira_lars": ("MIRA A.4.1", {
        **_LINEAR, "optim.name": "lars", "optim.base_lr": 0.1, "optim.schedule": "cosine"}),
    "linear_eval.py:mio": ("MIO Section 3.3; miossl Trainer.linear_eval", {
        **_LINEAR, "optim.name": "sgd", "peak_lr": 0.01, "optim.momentum": 0.9,
        "train.batch_size": 32, "train.epochs": 100, "optim.schedule": "exponential",
        "optim.gamma": 0.98, "view0.min_scale": 0.8, "view0.flip_prob": 0.0}),
    "linear_eval.py:cifar": ("solo-learn's CIFAR linear protocol", {
        **_LINEAR, "optim.base_lr": 0.1, "optim.milestones": (60, 80)}),
    "linear_eval.py:quick": ("the quickstart's offline probe (README)", {
        **_LINEAR, "data.name": "synthetic", "train.cached_features": True}),
    "semi_supervised.py:mira_1pct": ("MIRA A.4.1, semi-supervised", {
        "data.name": "imagenet2012_1pct", "train.epochs": 20, "optim.backbone_base_lr": 0.0,
        "optim.base_lr": 0.4, "optim.schedule": "cosine"}),
    "semi_supervised.py:mira_10pct": ("MIRA A.4.1, semi-supervised", {
        "data.name": "imagenet2012_10pct", "train.epochs": 20,
        "optim.backbone_base_lr": 0.02, "optim.base_lr": 0.1}),
    "semi_supervised.py:intl_1pct": ("INTL Appendix C", {
        "data.name": "imagenet2012_1pct", "optim.backbone_base_lr": 0.006,
        "optim.base_lr": 0.2}),
    "semi_supervised.py:intl_10pct": ("INTL Appendix C", {
        "data.name": "imagenet2012_10pct", "optim.backbone_base_lr": 0.006,
        "optim.base_lr": 0.2}),
    "semi_supervised.py:intl_multicrop_1pct": ("INTL Appendix C (multi-crop + EMA)", {
        "data.name": "imagenet2012_1pct", "optim.backbone_base_lr": 0.004,
        "optim.base_lr": 0.2}),
    "semi_supervised.py:intl_multicrop_10pct": ("INTL Appendix C (multi-crop + EMA)", {
        "data.name": "imagenet2012_10pct", "optim.backbone_base_lr": 0.004,
        "optim.base_lr": 0.2}),
    "knn_eval.py": ("DINO / MIRA weighted k-NN (k 10, 20, 100, 200; T 0.07), INTL's k = 5", {
        "knn.ks": (10, 20, 100, 200), "knn.majority_ks": (5,), "knn.temperature": 0.07}),
    "quickstart.py": ("CPU scale, tuned by bench/quality.py (README)", {
        "data.name": "synthetic", "data.views": "synthetic", "train.batch_size": 128,
        "train.epochs": 6, "model.name": "resnet18", "model.width": 0.125}),
}
