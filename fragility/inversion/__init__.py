"""Inverse images: what a unit responds to most, what a layer's code keeps, which inputs and
which weights matter. One concept a module:

- `units`: layers and units, read through forward hooks (``dict(model.named_modules())``), so
  any ``nn.Module`` that maps NCHW images in [0, 1] to logits can be analysed; the name ``""``
  is the model's own output (the logits).
- `maxima`: activation maximisation (Erhan et al. 2009; Simonyan, Vedaldi & Zisserman 2013):
  gradient ascent on the input for one unit (an output class's score, a hidden unit, a CNN
  channel), objective ``a(x) - lambda ||x||_2^2`` or Erhan's fixed-norm version, with the usual
  regularisers (`regularisers`: jitter, Gaussian blur, total variation) and several seeded
  restarts, the image kept in [0, 1]. Many units and restarts are optimised as one batch.
- `representation`: representation inversion (Mahendran & Vedaldi 2015): from noise, an input
  whose code at a chosen layer matches a real image's.
- `first_layer`: first-layer weights as images, with a measure of how edge-like (stroke-like)
  they are.
- `saliency`: the gradient of a class score with respect to the input (Simonyan et al. 2013),
  and gradient x input (Shrikumar et al. 2016).
- `ablation`: which weights matter: rank weights by |dC/dw| summed over the training set and
  zero the top, a random or the bottom share of them.
- `analyse`: all of the above on one classifier and its data (the command and the report).

Everything below is importable from `fragility.inversion` itself.
"""

from fragility.inversion.ablation import PruneCurve, prune_curve, weight_sensitivity
from fragility.inversion.analyse import ANALYSES, InverseImages, analyse, one_per_class
from fragility.inversion.first_layer import (
    EdgeScores,
    edge_scores,
    first_layer_weights,
    gabor_bank,
    neighbour_correlation,
)
from fragility.inversion.maxima import (
    STARTS,
    Maxima,
    MaximizeConfig,
    class_units,
    maximize,
    objective,
)
from fragility.inversion.regularisers import gaussian_blur, total_variation
from fragility.inversion.representation import Inversion, invert_representation
from fragility.inversion.saliency import Saliency, saliency, saliency_mass, saliency_summary
from fragility.inversion.units import (
    LOGITS,
    Unit,
    activations,
    hidden_layers,
    layer_output,
    layer_outputs,
    layer_width,
    select_units,
    training_maxima,
    units_of,
)

__all__ = [
    "ANALYSES",
    "LOGITS",
    "STARTS",
    "EdgeScores",
    "InverseImages",
    "Inversion",
    "Maxima",
    "MaximizeConfig",
    "PruneCurve",
    "Saliency",
    "Unit",
    "activations",
    "analyse",
    "class_units",
    "edge_scores",
    "first_layer_weights",
    "gabor_bank",
    "gaussian_blur",
    "hidden_layers",
    "invert_representation",
    "layer_output",
    "layer_outputs",
    "layer_width",
    "maximize",
    "neighbour_correlation",
    "objective",
    "one_per_class",
    "prune_curve",
    "saliency",
    "saliency_mass",
    "saliency_summary",
    "select_units",
    "total_variation",
    "training_maxima",
    "units_of",
    "weight_sensitivity",
]
