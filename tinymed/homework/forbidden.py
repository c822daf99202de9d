"""Does an exercise reach the library's own answer? Three looks, each enough to score it 0.

1. Static: the exercise's cells, read as Python (AST), name a forbidden object: an import
   (`from tinymed.ops import Sigmoid`) or a dotted use through any alias the submission made
   anywhere (`import tinymed.nn.functional as F` ... `F.sigmoid(x)`). Names are resolved to the
   objects, so re-exports (`tm.nn.functional.weighted_binary_cross_entropy`) count too.
2. Identity: a name the exercise must define *is* a forbidden object, or a class derived from one.
3. Runtime: while a check runs the student's code, a profiler watches for calls into the
   forbidden functions' code whose nearest caller outside the library is the student's code
   (`getattr(tm, "o" + "ps")` and `x.sigmoid()` are caught here), not the grader's harness.
"""
import ast
import importlib
import inspect
import os
import sys
import types
from pathlib import Path

import tinymed

LIBRARY = str(Path(tinymed.__file__).resolve().parent)
HARNESS = str(Path(__file__).resolve().parent)
_SYSTEM = tuple({str(Path(p).resolve()) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})


def resolve(dotted):
    """The object a dotted name of tinymed names, or None (other packages are never imported
    here: a student's source must not make the grader import what it names)."""
    parts = dotted.split(".")
    if parts[0] != "tinymed" and parts[0] not in sys.modules:
        return None
    for cut in range(len(parts), 0, -1):
        name = ".".join(parts[:cut])
        try:
            obj = importlib.import_module(name) if parts[0] == "tinymed" else sys.modules.get(name)
        except ImportError:
            continue
        if obj is None:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute, None)
            if obj is None:
                return None
        return obj
    return None


def forbidden_objects(names):
    """id(object) -> dotted name, for the forbidden names that resolve."""
    found = {}
    for dotted in names:
        obj = resolve(dotted)
        if obj is not None:
            found[id(obj)] = dotted
    return found


def _functions(obj):
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        return [f for f in (obj.fget, obj.fset) if f is not None]
    if isinstance(obj, types.FunctionType):
        return [obj]
    if isinstance(obj, type):
        return [f for member in vars(obj).values() for f in _functions(member)]
    if isinstance(obj, types.ModuleType):
        return [f for member in vars(obj).values()
                if getattr(member, "__module__", None) == obj.__name__ for f in _functions(member)]
    return []


def forbidden_code(names):
    """code object -> dotted name, for every function body of the forbidden objects."""
    return {f.__code__: dotted for dotted in names for f in _functions(resolve(dotted))}


# -- 1. static ---------------------------------------------------------------------------------


def _aliases(trees):
    """Local name -> dotted name, from every import statement of the submission."""
    aliases = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for a in node.names:
                    aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _dotted(node, aliases):
    """`F.sigmoid` -> "tinymed.nn.functional.sigmoid" when F is an alias, else None."""
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    return ".".join([aliases[node.id], *reversed(chain)])


def _is_forbidden(dotted, names, objects):
    """The forbidden name `dotted` reaches: by its spelling, by the object it names, or by the
    module that object was defined in (`F.weighted_binary_cross_entropy` is the module that defines it, not F)."""
    if any(dotted == n or dotted.startswith(n + ".") for n in names):
        return next(n for n in names if dotted == n or dotted.startswith(n + "."))
    modules = {resolve(n).__name__: n for n in names if isinstance(resolve(n), types.ModuleType)}
    parts = dotted.split(".")
    for cut in range(len(parts), 1, -1):
        obj = resolve(".".join(parts[:cut])) if parts[0] == "tinymed" else None
        if obj is not None and id(obj) in objects:
            return objects[id(obj)]
        if obj is not None and not isinstance(obj, types.ModuleType) and getattr(obj, "__module__", None) in modules:
            return modules[obj.__module__]
    return None


def static_uses(all_sources, exercise_cells, names):
    """[(forbidden name, where)] for the forbidden names used in `exercise_cells`, a list of
    (label, source) pairs; `all_sources` are every cell's source (for the imports' aliases)."""
    trees = []
    for source in all_sources:
        try:
            trees.append(ast.parse(source))
        except SyntaxError:
            continue
    aliases = _aliases(trees)
    objects = forbidden_objects(names)
    uses = []
    for label, source in exercise_cells:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                dotted = [a.name if isinstance(node, ast.Import) else f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, (ast.Attribute, ast.Name)):
                dotted = [_dotted(node, aliases)]
            else:
                continue
            for d in filter(None, dotted):
                hit = _is_forbidden(d, names, objects)
                if hit and hit not in (u[0] for u in uses):
                    uses.append((hit, f"{label}, line {node.lineno}: `{lines[node.lineno - 1].strip()}`"))
    return uses


# -- 2. identity -------------------------------------------------------------------------------


def identity_uses(namespace, defined, names):
    """[(forbidden name, where)] for names of `defined` that are a forbidden object or derive
    from a forbidden class."""
    objects = forbidden_objects(names)
    uses = []
    for name in defined:
        obj = namespace.get(name)
        family = inspect.getmro(obj) if isinstance(obj, type) else (obj,)
        hit = next((objects[id(o)] for o in family if id(o) in objects), None)
        if hit:
            uses.append((hit, f"your `{name}` is (or derives from) it"))
    return uses


# -- 3. runtime --------------------------------------------------------------------------------


def is_student_file(filename):
    """True for code the student wrote: not the library, not Python's or NumPy's own files."""
    if filename.startswith(("<cell ", "<ipython-input")):
        return True  # the grader's name for a cell, and IPython's
    return os.path.isabs(filename) and not filename.startswith((LIBRARY, *_SYSTEM))


class Tracer:
    """`with Tracer(codes) as t: ...`: t.hits holds the forbidden names the student's code
    called (directly, or through library code it called) inside the block."""

    def __init__(self, codes):
        self.codes = codes
        self.hits = []

    def _profile(self, frame, event, arg):
        if event != "call" or frame.f_code not in self.codes:
            return
        caller = frame.f_back
        while caller is not None:
            filename = caller.f_code.co_filename
            if filename.startswith(HARNESS):
                return  # the harness called it, not the student
            if is_student_file(filename):
                name = self.codes[frame.f_code]
                if name not in self.hits:
                    self.hits.append(name)
                return
            caller = caller.f_back

    def __enter__(self):
        if self.codes:
            sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        sys.setprofile(None)
        return False


def verdict(exercise, uses):
    """The message for an exercise that used the library's answer."""
    name, where = uses[0]
    return (f"exercise {exercise} uses {name} ({where}), the library's own answer to what this exercise asks: "
            f"it scores 0. Write it yourself with NumPy (and tinymed's Tensor and Function).")
