"""Aligner trainer: data preparation, training, and ONNX export for Aligner correction models.

Run as `python -m aligner_trainer {prepare-data,train,export}` with PYTHONPATH=server/trainer.
"""

__version__ = "0.1.0"
