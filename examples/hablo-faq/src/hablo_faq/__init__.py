"""hablo-faq: a hablo skill that answers a tenant's FAQ from a YAML file it edits live.

Registered through the `hablo.skills` entry point `faq = "hablo_faq.skill:FaqSkill"`.
"""

from hablo_faq.faq import FaqBook, FaqEntry, FaqError, FaqFile, FaqMatch, load_faq, parse_faq
from hablo_faq.skill import FaqConfig, FaqSkill

__all__ = [
    "FaqBook",
    "FaqConfig",
    "FaqEntry",
    "FaqError",
    "FaqFile",
    "FaqMatch",
    "FaqSkill",
    "load_faq",
    "parse_faq",
]
