"""tinymed.nn: modules (layers, models, losses) and their functional math (`tinymed.nn.functional`).

    import tinymed.nn as nn
    import tinymed.nn.functional as F
"""
from tinymed.nn import functional
from tinymed.nn.module import Identity, Module, ModuleList, Parameter, Sequential
from tinymed.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, FocalLoss, WeightedBCELoss

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "FocalLoss", "Identity", "Module", "ModuleList",
    "Parameter", "Sequential", "WeightedBCELoss", "functional",
]
