"""The dashboard's widgets."""

from .saga_table import SagaTable

__all__ = ["SagaTable"]
