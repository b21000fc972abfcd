"""plan-xl: yearly progress reporting of a city's administrative-reform plan in Excel."""

__version__ = "0.1.0"
