"""hablo: a conversational engine for small businesses on WhatsApp and friends."""

__version__ = "0.1.0"
