"""Confident garbage: images no human would call a digit, labelled with 99.99 % confidence.

One module per way of making or judging garbage:

- `noise`: families of non-digits (noise, blanks, strokes, shuffled pixels, another dataset)
  and the survey of how confidently a model labels them.
- `ascent`: gradient ascent on log p(class) from noise or a blank image, with optional limits.
- `ceiling`: a proved per-class ceiling on the confidence any input can get, and a witness
  search that tries to reach the target where the ceiling leaves room.
- `evolve`: MAP-Elites evolution from the model's outputs only (Nguyen et al. 2015), with the
  direct encoding; `cppn`: the CPPN encoding.
- `detect`: distance to the training data, autoencoder reconstruction error, transfer to
  another model, and the max-softmax out-of-distribution baseline (Hendrycks & Gimpel 2017).
- `retrain`: Nguyen et al.'s extra "garbage" class, and evolution against the retrained model.
- `study`: all of the above on one classifier with one set of settings (the command and the
  report section call it).

Everything is pure (tensors and frozen dataclasses in and out) and seeded.
"""

from fragility.garbage.ascent import AscentResult, ascent, start_images
from fragility.garbage.ceiling import Ceiling, confidence_ceiling
from fragility.garbage.cppn import CPPNBatch, CPPNEncoding, render
from fragility.garbage.detect import (
    OODRow,
    Transfer,
    Unrecognisability,
    nearest_rms_distance,
    ood_baseline,
    reconstruction_error,
    transfer,
    unrecognisability,
)
from fragility.garbage.evolve import DirectEncoding, EvolutionResult, evolve
from fragility.garbage.noise import FAMILIES, FamilyConfidence, Survey, noise_families, survey
from fragility.garbage.retrain import RetrainResult, retrain_with_garbage_class
from fragility.garbage.study import METHODS, StudyConfig, StudyResult, run_study

__all__ = [
    "FAMILIES",
    "METHODS",
    "AscentResult",
    "CPPNBatch",
    "CPPNEncoding",
    "Ceiling",
    "DirectEncoding",
    "EvolutionResult",
    "FamilyConfidence",
    "OODRow",
    "RetrainResult",
    "StudyConfig",
    "StudyResult",
    "Survey",
    "Transfer",
    "Unrecognisability",
    "ascent",
    "confidence_ceiling",
    "evolve",
    "nearest_rms_distance",
    "noise_families",
    "ood_baseline",
    "reconstruction_error",
    "render",
    "retrain_with_garbage_class",
    "run_study",
    "start_images",
    "survey",
    "transfer",
    "unrecognisability",
]
