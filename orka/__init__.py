"""orka: a pytest harness comparing server orchestration methods on a real cluster."""

__version__ = "0.1.0"
