"""sparsim: which kind of sparsity pays off on which accelerator.

Subpackages follow the data flow: ``spec`` (validated inputs) -> ``workload`` ->
``analysis`` (dense nest analysis, then sparse post-processing) -> ``cost`` (energy,
cycles) -> ``report``; ``tasd`` and ``tasder`` sit beside them.
"""

from sparsim.errors import SparsimError

__version__ = "0.1.0"
__all__ = ["SparsimError", "__version__"]
