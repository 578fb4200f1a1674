"""Aligner trainer: data preparation and training of Aligner correction models. A finished run becomes a
model folder through `aligner export` (the TypeScript converter); torch_export.py is the parity tests'
torch reference.

Run as `python -m aligner_trainer {prepare-data,train}` with PYTHONPATH=server/trainer.
"""

__version__ = "0.1.0"
