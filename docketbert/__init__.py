"""docketbert: domain-adapted ModernBERT models for court docket entries."""

__version__ = "0.1.0"
