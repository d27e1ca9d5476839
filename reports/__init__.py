"""Rendering of analyses as HTML and LaTeX reports."""
