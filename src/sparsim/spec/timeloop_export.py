"""sparsim's problems and mappings written as Timeloop v0.3 inputs, so that Timeloop's own
tools can run what sparsim ran (``timeloop-model arch prob ERT map.yaml`` on the mapping
sparsim's mapper chose, ``timeloop-mapper`` on the same problem).

A problem is written with its shape (dimensions, coefficients, data spaces with their
projections; sparsim's roles left out) and its instance (sizes and coefficient values). A
mapping, per storage level: a ``temporal`` entry (every dimension's factor, the permutation innermost
first, as sparsim writes it), a ``spatial`` entry where the level has a fan-out (with its
``split``) and a ``bypass`` entry (``keep`` and ``bypass`` lists); the reuse switches
(``no_link_transfer``, ``no_multicast_no_reduction``, ``no_temporal_reuse``) where set.
"""

from __future__ import annotations

from sparsim.spec.model import Spec
from sparsim.spec.problem import Problem


def timeloop_problem(problem: Problem) -> dict:
    """``{"problem": {"shape": ..., "instance": ...}}`` for ``problem``."""
    shape = problem.shape
    spaces = []
    for space in shape.data_spaces:
        entry: dict = {
            "name": space.name,
            "projection": [
                [[dim, coefficient] if coefficient else [dim] for dim, coefficient in rank]
                for rank in space.projection
            ],
        }
        if space.read_write:
            entry["read-write"] = True
        spaces.append(entry)
    instance = dict(problem.instance)
    instance.update({name: problem.coefficient(name) for name, _ in shape.coefficients})
    return {
        "problem": {
            "shape": {
                "name": shape.name,
                "dimensions": list(shape.dimensions),
                "coefficients": [
                    {"name": name, "default": default} for name, default in shape.coefficients
                ],
                "data-spaces": spaces,
            },
            "instance": instance,
        }
    }


def timeloop_mapping(spec: Spec) -> dict:
    """``{"mapping": [...]}`` for ``spec``'s mapping, in the problem shape's own names."""
    shape = spec.problem.shape
    dims, tensors = shape.dimensions, shape.tensor_names
    entries = []
    for index, level in enumerate(spec.architecture.levels):
        chosen = spec.mapping.for_level(level.name)
        temporal = {
            "target": level.name,
            "type": "temporal",
            "factors": " ".join(f"{d}={chosen.temporal.get(d, 1)}" for d in dims),
            "permutation": "".join(chosen.temporal_order(dims)),
        }
        if chosen.no_temporal_reuse:
            temporal["no_temporal_reuse"] = list(chosen.no_temporal_reuse)
        entries.append(temporal)
        if _has_fanout(spec, index):
            order = chosen.spatial_order(dims)
            spatial = {
                "target": level.name,
                "type": "spatial",
                "factors": " ".join(f"{d}={chosen.spatial.get(d, 1)}" for d in dims),
                "permutation": "".join(order),
                "split": len(order) if chosen.split is None else chosen.split,
            }
            if chosen.no_link_transfer:
                spatial["no_link_transfer"] = list(chosen.no_link_transfer)
            if chosen.no_multicast:
                spatial["no_multicast_no_reduction"] = list(chosen.no_multicast)
            entries.append(spatial)
        keep = list(tensors) if chosen.keep is None or index == 0 else list(chosen.keep)
        entries.append(
            {
                "target": level.name,
                "type": "bypass",
                "keep": keep,
                "bypass": [t for t in tensors if t not in keep],
            }
        )
    return {"mapping": entries}


def _has_fanout(spec: Spec, index: int) -> bool:
    levels = spec.architecture.levels
    inner = (
        levels[index + 1].instances
        if index + 1 < len(levels)
        else spec.architecture.compute.instances
    )
    return inner > levels[index].instances
