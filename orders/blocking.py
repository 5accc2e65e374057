"""The staff's blocked link patterns and keywords, checked at placement (R-AUP-1)."""

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from smmpanel.readcache import cached

from .models import BlockedPattern

# The read cache's stamp of the patterns (smmpanel.readcache), bumped by orders.signals.
BLOCKED_STAMP = "blocked"


def _host(link: str) -> str:
    try:
        return (urlsplit(link).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


@dataclass
class BlockedRules:
    """The enabled patterns, loaded in one query; reused for every line of a mass order."""

    keywords: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    regexes: list[re.Pattern] = field(default_factory=list)

    @classmethod
    def load(cls) -> "BlockedRules":
        """The enabled patterns, from the read cache until one is saved or deleted."""
        return cached(BLOCKED_STAMP, "rules", cls._load_uncached)

    @classmethod
    def _load_uncached(cls) -> "BlockedRules":
        rules = cls()
        rows = BlockedPattern.objects.filter(enabled=True).values_list("kind", "pattern")
        for kind, raw in rows:
            pattern = raw.strip()
            if kind == BlockedPattern.Kind.KEYWORD:
                rules.keywords.append(pattern.lower())
            elif kind == BlockedPattern.Kind.DOMAIN:
                rules.domains.append(pattern.lower().lstrip("*.").rstrip("."))
            else:
                try:
                    rules.regexes.append(re.compile(pattern, re.IGNORECASE))
                except re.error:
                    continue  # the admin refuses these; a bad row never blocks everything
        return rules

    def blocks(self, *, link: str, comments: str = "") -> bool:
        text = f"{link}\n{comments}".lower()
        if any(keyword in text for keyword in self.keywords):
            return True
        host = _host(link)
        if host and any(host == d or host.endswith("." + d) for d in self.domains):
            return True
        return any(regex.search(link) for regex in self.regexes)
