"""What the report shows of the profiles study: its figures' captions, in the order shown
(first the figures over study seeds of a repeated run: ``figures.combined_figures``)."""

from mnemoscope.studies.record import Caption

CAPTIONS = {
    "seeds_fig2_mae": Caption(
        "Distance of each paradigm's memorization profile to binomial noise (top) and to the "
        "network-block permutation null (bottom) at mean p_t = 0.5, averaged and fixed "
        "augmentations, one marker per study seed (hollow: the paradigm never reached mean "
        "p_t = 0.5) and a bar at their mean", "paper 001, fig. 2 (its MAEs)"),
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
    "mean_recognition": Caption("Mean recognition probability p_t over epochs per paradigm"),
    "binomial_distance": Caption("Distance of each paradigm's profile to binomial noise and to "
                                 "the network-block null over epochs"),
    "fig6_tsne": Caption("t-SNE of the learned representations, coloured by class",
                         "paper 001, fig. 6"),
    "fig7_activation_max": Caption("Inputs that maximize single units of each paradigm's "
                                   "network (activation maximization)", "paper 001, fig. 7"),
}  # fmt: skip
# Per image or per epoch: linked from the report as files, never inlined.
PER_IMAGE_TABLES = frozenset({"recognition", "profile_distance", "training", "dynamics"})
