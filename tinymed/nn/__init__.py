"""tinymed.nn: modules (layers, models, losses) and their functional math (`tinymed.nn.functional`).

    import tinymed.nn as nn
    import tinymed.nn.functional as F
"""
from tinymed.nn import functional, init, utils
from tinymed.nn.activation import ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Softplus, Tanh
from tinymed.nn.containers import Identity, ModuleDict, ModuleList, ParameterList, Sequential
from tinymed.nn.module import Module, Parameter
from tinymed.nn.layers import (
    AdaptiveAvgPool2d, AvgPool2d, Conv2d, Dropout, Dropout2d, Flatten, GlobalAvgPool2d, Linear, MaxPool2d, Unflatten,
)
from tinymed.nn.losses import (
    BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, FocalLoss, L1Loss, MSELoss, NLLLoss, WeightedBCELoss,
)
from tinymed.nn.normalization import BatchNorm1d, BatchNorm2d, LayerNorm

__all__ = [
    "AdaptiveAvgPool2d", "AvgPool2d", "BCELoss", "BCEWithLogitsLoss", "BatchNorm1d", "BatchNorm2d", "Conv2d",
    "CrossEntropyLoss", "Dropout", "Dropout2d", "ELU", "Flatten", "FocalLoss", "GELU", "GlobalAvgPool2d",
    "Identity", "L1Loss", "LayerNorm", "LeakyReLU", "Linear", "LogSoftmax", "MSELoss", "MaxPool2d", "Module",
    "ModuleDict", "ModuleList", "NLLLoss", "Parameter", "ParameterList", "ReLU", "Sequential", "SiLU",
    "Sigmoid", "Softmax", "Softplus", "Tanh", "Unflatten", "WeightedBCELoss", "functional", "init", "utils",
]
