"""What the report shows of the removal and coreset study: its figures' captions."""

from mnemoscope.studies.record import Caption

CAPTIONS = {
    "sslmem_removal_fig3": Caption(
        "Removal of the most memorized candidates: linear-probe accuracy of encoders retrained "
        "without the top-k (red) or k random (grey) candidates, per downstream dataset, mean "
        "and standard deviation over seeds (and random draws); dashed: f itself",
        "paper 002, fig. 3 (figs. 6-7, table 14)"),
    "sslmem_coreset_table17": Caption(
        "Coreset: linear-probe accuracy of encoders trained on only the top-k (red) or k random "
        "(grey) candidates; dashed: f on its whole training set", "paper 002, table 17"),
}  # fmt: skip
# Per training and per downstream set: linked from the report as files.
PER_IMAGE_TABLES = frozenset({"sslmem_removal", "sslmem_coreset", "sslmem_removal_ids",
                              "sslmem_removal_runs", "sslmem_removal_ranking"})  # fmt: skip
