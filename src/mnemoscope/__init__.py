"""mnemoscope: measure memorization in supervised and self-supervised training of image encoders.

Data flows one way: ``data`` -> ``augment`` -> ``models`` -> ``training`` -> measurements ->
analysis -> reports, with one study per paper composing these parts.
"""

__version__ = "0.1.0"
