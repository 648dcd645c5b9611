"""What the report shows of the benign study: its figures' captions, in the order shown
(first the figures over study seeds of a repeated run: ``figures.combined_figures``)."""

from mnemoscope.studies.record import Caption

CAPTIONS = {
    "seeds_fig4_probes": Caption(
        "kNN probe accuracy of every layer at the last epoch with clean (dashed) and random "
        "(solid) labels, one panel per setting: the mean over study seeds and a band from the "
        "lowest seed to the highest", "paper 003, fig. 4 and table 1"),
    "benign_fig4_probes": Caption(
        "kNN probe accuracy of every layer with clean (dashed) and random (solid) labels, one "
        "panel per setting: where the random labels are fitted and where the clean signal "
        "survives", "paper 003, fig. 4 and table 1"),
    "benign_fig7_invariance": Caption(
        "Normalized invariance of each layer to the training augmentation (lower = more "
        "invariant) over epochs, and the embedding's invariance per setting",
        "paper 003, fig. 7"),
    "benign_training": Caption("Fit of the training labels and training loss over epochs"),
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
# Per layer and epoch, or per cell of the toy grid: linked from the report as files.
PER_IMAGE_TABLES = frozenset({"benign_training", "benign_probes", "benign_invariance",
                              "benign_toy"})  # fmt: skip
