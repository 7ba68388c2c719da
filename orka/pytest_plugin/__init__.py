"""orka's pytest plugin, registered by the package's pytest11 entry point: `pytest spikes/` needs no conftest.

options: the command line and the settings, validated before anything boots.
collection: parameters by method and node, each method's phases in order.
fixtures: the session's clusters and spikes. outcomes: JUnit properties and the
verify records. reports: what a spike run leaves (junit.xml, pytest.html, the
comparison page). xdist: the methods side by side, one worker each (parallel.py).
"""
