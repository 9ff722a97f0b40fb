"""saga-inspector: a read-only terminal dashboard for AgentMux launcher saga logs."""

__version__ = "0.1.0"
