"""tinymed.nn: modules (layers, models, losses) and their functional math (`tinymed.nn.functional`).

    import tinymed.nn as nn
    import tinymed.nn.functional as F
"""
from tinymed.nn.module import Identity, Module, ModuleList, Parameter, Sequential

__all__ = ["Identity", "Module", "ModuleList", "Parameter", "Sequential"]
