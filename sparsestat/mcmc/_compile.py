"""Compile once: key a compiled program on a log density's *code*, with its closed-over arrays as traced
arguments.

``jax.jit`` caches on the function object, and arrays a closure captures become constants of the
program: every new closure (a new dataset, a new ``lambda``) traces, lowers and compiles again, and each
XLA:CPU executable holds its own memory mappings. :func:`split_function` takes a log density apart into

* a hashable *key*: the code objects, globals, defaults, and the non-array values it closes over
  (Python scalars, strings, ``None`` by value; any other object by identity, as ``jit`` would), and
* *consts*: a tuple of the arrays it closes over (``jax.Array`` and numeric ``numpy`` arrays), found
  through nested closures, ``functools.partial`` and ``jax.tree_util.Partial``,

plus ``rebuild(consts)``, which returns an equivalent function reading the arrays from ``consts``.
Two closures with equal keys differ only in those arrays, so one compiled program serves both. Anything
else (callable objects, bound methods of objects holding arrays) keys by identity and keeps its arrays
baked in, exactly like ``jax.jit``. Globals the code reads (and those of global helper functions of the
same module) enter the key by identity: rebinding a global array compiles again; mutating a global numpy
array in place is not seen (as with a reused jitted function).
"""

from __future__ import annotations

import functools
import types
from collections import OrderedDict

import jax
import numpy as np

__all__ = ["split_function", "Identity", "ProgramCache", "LIFT_ERRORS"]

_MAX_DEPTH = 6

# errors that mean "this function needs a closed-over value concretely" (Python control flow on it,
# a shape from it): the caller then falls back to baking the function in
LIFT_ERRORS = (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError,
               jax.errors.TracerIntegerConversionError, jax.errors.TracerBoolConversionError)


class Identity:
    """Hash/compare an object by identity (holds a strong reference so the id is not reused)."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, Identity) and other.obj is self.obj

    def __repr__(self):
        return f"Identity({type(self.obj).__name__})"


_SCALARS = (bool, int, float, complex, str, bytes, type(None))


def _is_liftable(v) -> bool:
    if isinstance(v, jax.core.Tracer):
        return False
    if isinstance(v, jax.Array):
        return not jax.dtypes.issubdtype(v.dtype, jax.dtypes.prng_key)
    return isinstance(v, np.ndarray) and v.dtype.kind in "biufc"


def _value_key(v):
    """A key for a non-array value: scalars (and tuples of them) by type and repr, others by identity."""
    if isinstance(v, _SCALARS):
        return (type(v), repr(v))
    if type(v) is tuple and len(v) <= 32 and all(isinstance(e, _SCALARS) for e in v):
        return (tuple, tuple((type(e), repr(e)) for e in v))
    return Identity(v)


def _code_names(code, out, depth=0):
    out.update(code.co_names)
    if depth < _MAX_DEPTH:
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                _code_names(c, out, depth + 1)
    return out


def _globals_key(fn, depth=0, seen=None):
    """Key of the globals ``fn``'s code reads (recursively through global functions): a rebinding of a
    global array or helper changes the key, so a program that baked the old one is not reused."""
    seen = set() if seen is None else seen
    if id(fn) in seen or depth > _MAX_DEPTH:
        return ()
    seen.add(id(fn))
    glob = fn.__globals__
    out = []
    for name in sorted(_code_names(fn.__code__, set())):
        if name not in glob:
            continue
        v = glob[name]
        if isinstance(v, types.ModuleType):
            continue
        out.append((name, _value_key(v)))
        if isinstance(v, types.FunctionType) and v.__module__ == fn.__module__:
            out.append(_globals_key(v, depth + 1, seen))
    return tuple(out)


def split_function(fn):
    """``(key, consts, rebuild)`` for a callable ``fn`` (see the module docstring)."""
    consts: list = []
    key, build = _split(fn, consts, 0)
    return key, tuple(consts), build


def _split_value(v, consts, depth):
    """(key, build) for one closed-over value; build(consts) -> the value."""
    if _is_liftable(v):
        i = len(consts)
        consts.append(v)
        return ("array",), (lambda c, i=i: c[i])
    if callable(v) and depth < _MAX_DEPTH and isinstance(v, (types.FunctionType, functools.partial,
                                                           jax.tree_util.Partial)):
        return _split(v, consts, depth + 1)
    return ("value", _value_key(v)), (lambda c, v=v: v)


def _split(fn, consts, depth):
    if isinstance(fn, (functools.partial, jax.tree_util.Partial)) and depth < _MAX_DEPTH:
        fkey, fbuild = _split(fn.func, consts, depth + 1)
        akeys, abuilds = zip(*[_split_value(a, consts, depth + 1) for a in fn.args]) if fn.args else ((), ())
        kw = sorted((fn.keywords or {}).items())
        kkeys, kbuilds = zip(*[_split_value(v, consts, depth + 1) for _, v in kw]) if kw else ((), ())
        names = tuple(k for k, _ in kw)
        cls = type(fn)

        def build(c):
            return cls(fbuild(c), *[b(c) for b in abuilds], **dict(zip(names, [b(c) for b in kbuilds])))

        return ("partial", cls, fkey, tuple(akeys), names, tuple(kkeys)), build
    if not isinstance(fn, types.FunctionType) or depth >= _MAX_DEPTH:
        return ("opaque", Identity(fn)), (lambda c, fn=fn: fn)
    cells = fn.__closure__ or ()
    if not cells:
        # no closure: the function object itself is the key (same as jit)
        return ("function", Identity(fn)), (lambda c, fn=fn: fn)
    ckeys, cbuilds = [], []
    for cell in cells:
        try:
            v = cell.cell_contents
        except ValueError:      # an empty cell (a name bound later): keep the function as it is
            return ("opaque", Identity(fn)), (lambda c, fn=fn: fn)
        if v is fn:             # a recursive local function: by identity
            return ("opaque", Identity(fn)), (lambda c, fn=fn: fn)
        k, b = _split_value(v, consts, depth)
        ckeys.append(k)
        cbuilds.append(b)
    if all(k[0] == "value" for k in ckeys):
        # nothing lifted below: no need to rebuild
        key = ("closure", fn.__code__, Identity(fn.__globals__), _globals_key(fn), _value_key(fn.__defaults__),
               _value_key(fn.__kwdefaults__), tuple(ckeys))
        return key, (lambda c, fn=fn: fn)
    code, glob, name, defaults, kwdefaults = (fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                              fn.__kwdefaults__)
    key = ("closure", code, Identity(glob), _globals_key(fn), _value_key(defaults), _value_key(kwdefaults),
           tuple(ckeys))

    def build(c):
        new = types.FunctionType(code, glob, name, defaults, tuple(types.CellType(b(c)) for b in cbuilds))
        new.__kwdefaults__ = kwdefaults
        return new

    return key, build


class ProgramCache:
    """A small LRU of jitted programs keyed by a hashable tuple (the executables live in jit's caches,
    which ``jax.clear_caches`` frees)."""

    def __init__(self, max_size: int = 32):
        self.max_size = max_size
        self._d: OrderedDict = OrderedDict()

    def get(self, key, make):
        try:
            prog = self._d.pop(key)
        except KeyError:
            prog = make()
        self._d[key] = prog
        while len(self._d) > self.max_size:
            self._d.popitem(last=False)
        return prog

    def clear(self):
        self._d.clear()
