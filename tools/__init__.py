"""Maintainer tools of qlint (not installed with the package)."""
