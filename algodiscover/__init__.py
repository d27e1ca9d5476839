"""algodiscover: learn iterative numerical algorithms with R2N2 networks and distil them
into exact, verified methods. See ``analysis`` for the torch-free distilling side."""

__version__ = "0.1.0"
