"""Small drawings of rooted trees (root at the bottom, as in Butcher's tables) from their
level sequences: inline SVG for HTML and TikZ for LaTeX.

The structure comes from :meth:`analysis.RootedTree.to_networkx`; the layout puts the leaves
on consecutive columns (depth-first, children in canonical order) and each parent above the
mean of its children.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import networkx as nx

from .texescape import Tex

__all__ = ["TreeDrawing", "tree_drawing"]

_STEP = 12.0  # SVG units between columns / levels
_R = 2.6  # node radius (SVG units)
_PAD = 4.0


@dataclass(frozen=True)
class TreeDrawing:
    nodes: tuple[tuple[float, float], ...]  # (x, depth) per node, pre-order
    edges: tuple[tuple[int, int], ...]  # parent -> child

    @property
    def width(self) -> float:
        return max(x for x, _ in self.nodes) if self.nodes else 0.0

    @property
    def height(self) -> int:
        return int(max(d for _, d in self.nodes)) if self.nodes else 0

    def svg(self, label: str = "") -> str:
        """An inline SVG (``currentColor`` strokes, so it follows the text colour)."""
        w = self.width * _STEP + 2 * _PAD
        h = self.height * _STEP + 2 * _PAD

        def xy(i: int) -> tuple[float, float]:
            x, d = self.nodes[i]
            return _PAD + x * _STEP, h - _PAD - d * _STEP

        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="tree" width="{w:g}" height="{h:g}" '
                 f'viewBox="0 0 {w:g} {h:g}" role="img" aria-label="{label}">']
        for p, c in self.edges:
            (x1, y1), (x2, y2) = xy(p), xy(c)
            parts.append(f'<line x1="{x1:g}" y1="{y1:g}" x2="{x2:g}" y2="{y2:g}" stroke="currentColor" stroke-width="1.2"/>')
        for i in range(len(self.nodes)):
            x, y = xy(i)
            parts.append(f'<circle cx="{x:g}" cy="{y:g}" r="{_R:g}" fill="currentColor"/>')
        parts.append("</svg>")
        return "".join(parts)

    def tikz(self) -> Tex:
        """A TikZ picture, vertically centred on the text line."""
        cmds = [f"\\path[use as bounding box] (-0.35,-0.45) rectangle ({self.width + 0.35:g},{self.height + 0.45:g});"]
        for p, c in self.edges:
            (x1, d1), (x2, d2) = self.nodes[p], self.nodes[c]
            cmds.append(f"\\draw ({x1:g},{d1:g})--({x2:g},{d2:g});")
        for x, d in self.nodes:
            cmds.append(f"\\fill ({x:g},{d:g}) circle (1.5pt);")
        return Tex("\\tikz[x=7pt,y=7.5pt,line width=0.6pt,baseline={([yshift=-0.6ex]current bounding box.center)}]{"
                   + "".join(cmds) + "}")


@lru_cache(maxsize=4096)
def _drawing(levels: tuple[int, ...]) -> TreeDrawing:
    from ..analysis import RootedTree

    g = RootedTree(levels).to_networkx()
    order = sorted(g.nodes)
    kids = {v: sorted(g.successors(v)) for v in order}
    x: dict[int, float] = {}
    col = 0
    for v in nx.dfs_postorder_nodes(g, source=0):
        if kids[v]:
            x[v] = sum(x[c] for c in kids[v]) / len(kids[v])
        else:
            x[v] = float(col)
            col += 1
    nodes = tuple((x[v], float(g.nodes[v]["depth"])) for v in order)
    edges = tuple((p, c) for p in order for c in kids[p])
    return TreeDrawing(nodes, edges)


def tree_drawing(levels: Sequence[int]) -> TreeDrawing:
    """Layout of the tree with the given level sequence."""
    return _drawing(tuple(int(v) for v in levels))
