{%- from "orka/map.jinja" import orka with context %}
# 1. package tree from the distribution's repositories.
# refresh on Debian: the image ships with empty apt lists. Salt refreshes at
# most once per run, and pkg.installed reports no changes when already present.
orka-package-tree:
  pkg.installed:
    - name: {{ orka.tree_pkg }}
    - refresh: {{ orka.pkg_refresh }}
