"""MAE (He et al. 2022): reconstruct the pixels of masked patches from the visible ones.

The network's ViT (``vit-tiny``) encodes only the kept patches (and CLS) of a view; lightly's
``MaskedVisionTransformerDecoderTIMM``, between a linear embedding and a linear prediction head,
fills the masked positions with a mask token and predicts their pixels. With M_b the masked
patches of image b, x_p the target pixels of patch p (of the normalized image the encoder sees;
with ``norm_pix_loss``, standardized per patch, MAE section 4) and x^_p the prediction,

    l_b = 1 / (|M_b| P) sum_{p in M_b} ||x^_p - x_p||^2      (P = pixels x channels per patch)

and the batch mean (every image masks as many patches) is ``nn.MSELoss`` over the masked
patches, as in lightly's MAE example. Masks come from lightly's ``random_token_mask`` with its
noise drawn under a CPU RNG seeded from the run's generator (never the global RNG). lightly's
``MaskedVisionTransformerTIMM`` wraps the network's ViT (the same parameters) and gives it MAE's
initialization: xavier-uniform linear layers and a fixed 2-D sine-cosine position embedding.

The representation the studies score is the whole unmasked token map, the ``tokens`` tap
(paper 002 appendix A). The network's projector is not trained by MAE: its ``projector_hidden``
and ``output`` taps stay at their initialization.
"""

from __future__ import annotations

from typing import Literal

import torch
from lightly.models import utils
from lightly.models.modules import MaskedVisionTransformerDecoderTIMM, MaskedVisionTransformerTIMM
from pydantic import Field, model_validator
from torch import nn

from mnemoscope.strict import StrictModel
from mnemoscope.training.objectives.base import Augmentation, Objective, StepOutput, TrainingModel
from mnemoscope.training.objectives.method import Method, self_supervised


def random_token_mask(
    batch_size: int,
    sequence_length: int,
    mask_ratio: float,
    generator: torch.Generator,
    device: torch.device,
) -> tuple[torch.Tensor, torch.Tensor]:
    """lightly's ``random_token_mask`` (CLS never masked) drawn from ``generator``: its noise
    comes from the global CPU RNG, so it runs on a forked one seeded from the generator."""
    seed = int(torch.randint(2**62, (1,), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.set_rng_state(torch.Generator().manual_seed(seed).get_state())
        idx_keep, idx_mask = utils.random_token_mask((batch_size, sequence_length), mask_ratio)
    return idx_keep.to(device), idx_mask.to(device)


def mae_per_example(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error of each image over its masked patches ``[B, masked, P]``, in fp32."""
    return (prediction.float() - target.float()).pow(2).mean(dim=(1, 2))


class MAE(Objective):
    name = "mae"

    def __init__(
        self,
        output_dim: int,
        augmentation: Augmentation,
        *,
        mask_ratio: float = 0.75,
        decoder_dim: int = 512,
        decoder_depth: int = 8,
        decoder_heads: int = 16,
        norm_pix_loss: bool = True,
    ) -> None:
        self.num_outputs = output_dim
        self.augmentation = augmentation
        self.mask_ratio = mask_ratio
        self.decoder_dim = decoder_dim
        self.decoder_depth = decoder_depth
        self.decoder_heads = decoder_heads
        self.norm_pix_loss = norm_pix_loss
        self.criterion = nn.MSELoss()

    def attach(self, network: nn.Module) -> nn.Module:
        vit = getattr(network.encoder, "vit", None)
        if vit is None:
            raise ValueError(
                f"objective 'mae' needs a ViT encoder (model 'vit-tiny'), got {network.arch!r}"
            )
        self.network = network
        # Not returned: its parameters are the network's (its unused mask token aside).
        self.backbone = MaskedVisionTransformerTIMM(vit=vit)
        self.patch_size = vit.patch_embed.patch_size[0]
        self.sequence_length = self.backbone.sequence_length
        self.decoder_embed = nn.Linear(vit.embed_dim, self.decoder_dim)
        self.decoder = MaskedVisionTransformerDecoderTIMM(
            num_patches=vit.patch_embed.num_patches,
            embed_dim=self.decoder_dim,
            depth=self.decoder_depth,
            num_heads=self.decoder_heads,
            num_prefix_tokens=vit.num_prefix_tokens,
        )
        channels = vit.patch_embed.proj.in_channels
        self.prediction_head = nn.Linear(self.decoder_dim, self.patch_size**2 * channels)
        return nn.ModuleDict(
            {
                "decoder_embed": self.decoder_embed,
                "decoder": self.decoder,
                "prediction_head": self.prediction_head,
            }
        )

    def step(
        self,
        model: TrainingModel,
        images: torch.Tensor,
        positions: torch.Tensor,
        generator: torch.Generator,
    ) -> StepOutput:
        view = self.network.normalize(self.augmentation(images, generator))
        batch = len(view)
        idx_keep, idx_mask = random_token_mask(
            batch, self.sequence_length, self.mask_ratio, generator, view.device
        )
        with model.autocast():
            encoded = self.backbone.encode(images=view, idx_keep=idx_keep)
            # lightly's MAE example: scatter the kept tokens into a full-length sequence; the
            # decoder puts its mask token at the masked positions.
            tokens = self.decoder_embed(encoded)
            sequence = tokens.new_zeros(batch, self.sequence_length, tokens.shape[-1])
            sequence = utils.set_at_index(sequence, idx_keep, tokens.type_as(sequence))
            decoded = self.decoder(sequence, idx_mask=idx_mask)
            prediction = self.prediction_head(utils.get_at_index(decoded, idx_mask)).float()
        patches = utils.patchify(view, self.patch_size)
        target = utils.get_at_index(patches, idx_mask - 1)  # patch indices skip the CLS token
        if self.norm_pix_loss:
            target = utils.normalize_mean_var(target, dim=-1)
        loss = self.criterion(prediction, target)
        per_example = mae_per_example(prediction, target).detach()
        return StepOutput(loss, per_example, None, self._representations(model, images, generator))

    def _representations(self, model, images, generator):
        """Two fresh unmasked views through the encoder, for the alignment regularizer."""
        if self.alignment_tap is None:
            return None
        views = torch.cat([self.augmentation(images, generator) for _ in range(2)])
        r0, r1 = model.features(views, [self.alignment_tap])[self.alignment_tap].chunk(2)
        return r0, r1


class MAEObjective(StrictModel):
    """MAE (He et al. 2022) on a ViT (``model.name: vit-tiny``); scored on the ``tokens`` tap.

    Paper values: mask ratio 0.75, decoder 512 wide, 8 blocks, 16 heads, normalized-pixel
    targets. Paper 002 table 6: batch 2048, AdamW lr 1.2e-3, 600 epochs (60 warm-up), cosine
    decay. CPU quick: decoder_dim 128, decoder_depth 2, decoder_heads 4. See ``objectives.mae``.
    """

    name: Literal["mae"] = "mae"
    mask_ratio: float = Field(0.75, gt=0, lt=1, description="fraction of patches masked (0.75)")
    decoder_dim: int = Field(512, ge=1, description="decoder width (MAE: 512)")
    decoder_depth: int = Field(8, ge=1, description="decoder transformer blocks (MAE: 8)")
    decoder_heads: int = Field(16, ge=1, description="decoder attention heads (MAE: 16)")
    norm_pix_loss: bool = Field(
        True, description="standardize each target patch (MAE section 4: better features)"
    )

    @model_validator(mode="after")
    def _heads_divide_width(self) -> MAEObjective:
        if self.decoder_dim % self.decoder_heads:
            raise ValueError(
                f"decoder_heads {self.decoder_heads} does not divide decoder_dim "
                f"{self.decoder_dim}: each head needs decoder_dim / decoder_heads channels"
            )
        return self


METHOD = Method(
    name="mae",
    config=MAEObjective,
    build=self_supervised(MAE),
    independent_examples=True,  # each image's reconstruction of its own masked patches
    # MAE section A.1: RandomResizedCrop with scale (0.2, 1) and a flip, no colour augmentation.
    augment={
        "name": "simclr",
        "params": {"crop_scale": (0.2, 1.0), "jitter_p": 0.0, "grey_p": 0.0, "blur_p": 0.0},
    },
    paper={  # paper 002 table 6; MAE appendix A.1 (AdamW betas (0.9, 0.95), decay 0.05)
        "model": {"name": "vit-tiny"},
        "objective": {"name": "mae"},
        "optim": {"name": "adamw", "lr": 1.2e-3, "betas": (0.9, 0.95), "weight_decay": 0.05},
        "batch_size": 2048,
    },
    quick={
        "model": {"name": "vit-tiny", "projector_hidden": 64},
        "objective": {"name": "mae", "decoder_dim": 128, "decoder_depth": 2, "decoder_heads": 4},
        "optim": {"name": "adamw", "lr": 1.5e-3, "betas": (0.9, 0.95), "weight_decay": 0.05},
    },
)
