"""What each study figure shows and which paper figure it reproduces: the report's captions.

Keyed by the figure's file stem (``figures/<stem>.png``). The order here is the order figures
appear in a study's section; a figure not listed comes last with a caption made from its name.
``KEY_FIGURES`` is each study's thumbnail at the top of the report.
"""

from __future__ import annotations

from typing import NamedTuple


class Caption(NamedTuple):
    shows: str
    reproduces: str | None  # the paper figure or table, None: this project's own view


CAPTIONS: dict[str, Caption] = {
    # profiles (paper 001)
    "fig2_binomial": Caption(
        "Memorization profiles (sorted recognition probability per image) against binomial "
        "noise of the same mean (dotted) and the network-block permutation null (dashed: "
        "images shuffled within each network), per paradigm: averaged over augmentations and "
        "with each image's augmentation fixed", "paper 001, fig. 2"),
    "fig1_profiles": Caption(
        "How each paradigm's memorization profile evolves over epochs (one curve per measured "
        "epoch)", "paper 001, fig. 1"),
    "fig3_aligned": Caption(
        "The paradigms' profiles side by side at the epochs aligned with mean p_t = 0.25, 0.5 "
        "and 0.75 (the first reaching each, under the paper procedure)", "paper 001, fig. 3"),
    "fig4_augmentations": Caption(
        "Recognition probability of single image-augmentation pairs against the image's "
        "average: a wide spread means some augmentations are much harder than others",
        "paper 001, fig. 4"),
    "mean_recognition": Caption("Mean recognition probability p_t over epochs per paradigm",
                                None),
    "binomial_distance": Caption("Distance of each paradigm's profile to binomial noise and to "
                                 "the network-block null over epochs", None),
    "fig6_tsne": Caption("t-SNE of the learned representations, coloured by class",
                         "paper 001, fig. 6"),
    "fig7_activation_max": Caption("Inputs that maximize single units of each paradigm's "
                                   "network (activation maximization)", "paper 001, fig. 7"),
    # sslmem (paper 002)
    "sslmem_fig1_most_memorized": Caption(
        "The most and least memorized candidates (normalized SSLMem score under each image)",
        "paper 002, figs. 1 and 9"),
    "sslmem_fig2c_distributions": Caption(
        "Distribution of memorization scores per subset: candidates S_C (seen by f only), "
        "independent S_I (seen by g only), shared S_S, extra test images S_E",
        "paper 002, fig. 2c"),
    "sslmem_fig2a_alignment": Caption(
        "Alignment loss of each candidate under f (trained on it) against under g (not): "
        "points above the diagonal are memorized", "paper 002, fig. 2a"),
    "sslmem_fig2b_over_training": Caption(
        "Memorization score, training loss and probe accuracy over training epochs",
        "paper 002, fig. 2b"),
    "sslmem_fig5_threshold": Caption(
        "Fraction of candidates whose score exceeds each threshold", "paper 002, fig. 5"),
    "sslmem_dejavu_table4": Caption(
        "SSLMem and Déjà Vu memorization (Meehan et al. 2023) per SSL method with the probe "
        "accuracy of A, error bars one standard deviation over seeds; right: A's scored images "
        "by group (memorized = A guesses the label from the periphery and B does not)",
        "paper 002, table 4"),
    "sslmem_taps": Caption("Memorization score read at each layer (tap) of the encoder, on "
                           "the same views", "paper 002, appendix A"),
    "sslmem_layermem": Caption(
        "LayerMem (mean SSLMem of the candidates read at each layer) and Delta-LayerMem (its "
        "change from the layer before), in the network's order",
        "Wang et al., Localizing Memorization in SSL Vision Encoders, NeurIPS 2024"),
    "sslmem_unitmem": Caption(
        "UnitMem of every unit of the f encoders, one histogram per layer: 1 = the unit "
        "responds to one training image only, 0 = equally to all",
        "Wang et al., Localizing Memorization in SSL Vision Encoders, NeurIPS 2024"),
    "sslmem_unitmem_top": Caption(
        "The training images that drive the most memorizing units (layer, unit, UnitMem)",
        "Wang et al., Localizing Memorization in SSL Vision Encoders, NeurIPS 2024"),
    "sslmem_fig8_feldman": Caption(
        "Most memorized candidates by SSLMem (SSL encoders), by Feldman's score (supervised "
        "encoders) and by SSLMem of the supervised encoders", "paper 002, fig. 8"),
    "sslmem_table1_methods": Caption("SSLMem on the candidates against probe accuracy, one "
                                     "point per training method", "paper 002, table 1"),
    "sslmem_privacy": Caption(
        "Mean normalized SSLMem of the candidates S_C (bootstrap interval) and probe accuracy "
        "of encoders trained with DP-SGD at each target epsilon; inf = ordinary training",
        "paper 002, table 5"),
    "sslmem_fig4_lambda": Caption("Memorization and probe accuracy against the alignment "
                                  "regularizer's strength lambda (eq. 3)", "paper 002, fig. 4"),
    "sslmem_table13_agreement": Caption("Kendall's tau between every pair of trainings' "
                                        "rankings of the candidates", "paper 002, table 13"),
    # sslmem-removal (paper 002, section 4.4 and appendix D.5)
    "sslmem_removal_fig3": Caption(
        "Removal of the most memorized candidates: linear-probe accuracy of encoders retrained "
        "without the top-k (red) or k random (grey) candidates, per downstream dataset, mean "
        "and standard deviation over seeds (and random draws); dashed: f itself",
        "paper 002, fig. 3 (figs. 6-7, table 14)"),
    "sslmem_coreset_table17": Caption(
        "Coreset: linear-probe accuracy of encoders trained on only the top-k (red) or k random "
        "(grey) candidates; dashed: f on its whole training set", "paper 002, table 17"),
    # benign (paper 003)
    "benign_fig4_probes": Caption(
        "kNN probe accuracy of every layer with clean (dashed) and random (solid) labels, one "
        "panel per setting: where the random labels are fitted and where the clean signal "
        "survives", "paper 003, fig. 4 and table 1"),
    "benign_fig7_invariance": Caption(
        "Normalized invariance of each layer to the training augmentation (lower = more "
        "invariant) over epochs, and the embedding's invariance per setting",
        "paper 003, fig. 7"),
    "benign_training": Caption("Fit of the training labels and training loss over epochs", None),
    "benign_fig14_toy": Caption("Toy model: test kNN accuracy over the number of samples n and "
                                "of augmentations B", "paper 003, appendix E, fig. 14"),
    "benign_fig6_banks": Caption("Embedding kNN accuracy against the number of augmented "
                                 "views per image", "paper 003, fig. 6"),
    "benign_table3_iid": Caption("Fresh i.i.d. augmentations against a fixed bank",
                                 "paper 003, table 3"),
    "benign_fig9_num_classes": Caption("Embedding kNN against the number of random classes",
                                       "paper 003, fig. 9"),
    "benign_fig11_13_label_noise": Caption("Embedding kNN against the fraction of random labels",
                                           "paper 003, figs. 11-13"),
    "benign_fig8_projector": Caption("Embedding kNN against the projector's width",
                                     "paper 003, fig. 8"),
    "benign_fig12_randaugment": Caption("Embedding kNN against RandAugment's strength",
                                        "paper 003, fig. 12"),
    "benign_fig10_transfer": Caption("Transfer of the learned embedding to other datasets",
                                     "paper 003, fig. 10"),
}  # fmt: skip

KEY_FIGURES = {
    "profiles": "fig2_binomial",
    "sslmem": "sslmem_fig2c_distributions",
    "benign": "benign_fig4_probes",
    "sslmem-removal": "sslmem_removal_fig3",
    "sslmem-privacy": "sslmem_privacy",
    "sslmem-dejavu": "sslmem_dejavu_table4",
}


def caption(stem: str) -> str:
    """One line: what the figure shows, then which paper figure it reproduces."""
    entry = CAPTIONS.get(stem)
    if entry is None:
        return stem.replace("_", " ").capitalize() + "."
    return f"{entry.shows}." + (f" Reproduces {entry.reproduces}." if entry.reproduces else "")


def order(stem: str) -> int:
    """Position of a figure in its section: the order of ``CAPTIONS``, unknown ones last."""
    names = list(CAPTIONS)
    return names.index(stem) if stem in names else len(names)
