"""tinymed.nn: modules (layers, models, losses) and their functional math (`tinymed.nn.functional`).

    import tinymed.nn as nn
    import tinymed.nn.functional as F
"""
from tinymed.nn import functional, init
from tinymed.nn.containers import Identity, ModuleList, Sequential
from tinymed.nn.module import Module, Parameter
from tinymed.nn.layers import (
    AvgPool2d, BatchNorm1d, BatchNorm2d, Conv2d, Dropout, Flatten, GlobalAvgPool2d, Linear, MaxPool2d,
    ReLU, Sigmoid, Tanh,
)
from tinymed.nn.losses import BCEWithLogitsLoss, CrossEntropyLoss, FocalLoss, WeightedBCELoss

__all__ = [
    "AvgPool2d", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d", "CrossEntropyLoss",
    "Dropout", "Flatten", "FocalLoss", "GlobalAvgPool2d", "Identity", "Linear", "MaxPool2d", "Module",
    "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh", "WeightedBCELoss",
    "functional", "init",
]
