"""The papers whose methods the studies implement (README's references give the full entries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Paper:
    number: str  # how the project refers to it: "001", "002", "003"
    authors: str
    title: str
    venue: str

    @property
    def short(self) -> str:
        return f"{self.authors}, {self.title}"


PROFILES = Paper("001", "Sadrtdinov et al.", "On the Memorization Properties of Contrastive "
                 "Learning", "ICML 2021 Workshop on Over-parameterization")  # fmt: skip
SSLMEM = Paper("002", "Wang et al.", "Memorization in Self-Supervised Learning Improves "
               "Downstream Generalization", "ICLR 2024")  # fmt: skip
BENIGN = Paper("003", "Anagnostidis et al.", "The Curious Case of Benign Memorization", "ICLR 2023")
DP_AUDIT = Paper("DP audit", "Jagielski et al.; Nasr et al.", "Auditing Differentially Private "
                 "Machine Learning; Adversary Instantiation: Lower Bounds for Differentially "
                 "Private Machine Learning", "NeurIPS 2020; IEEE S&P 2021")  # fmt: skip
