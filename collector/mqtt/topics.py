"""Topic templates: MQTT topic filters whose levels can bind ``{site}``, ``{device}`` and ``{channel}``.

``bygning/{site}/{device}/{channel}`` subscribes to ``bygning/+/+/+`` and binds
the three levels of every topic it receives.  A placeholder always fills a
whole level; ``+`` matches one level without binding it and ``#`` (last level
only) matches the rest.  A template without placeholders is an explicit
per-topic mapping (``site``, ``device``, ``channel`` come from the subscription).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PLACEHOLDERS = ("site", "device", "channel")
_PLACEHOLDER = re.compile(r"^\{([a-z_]+)\}$")


@dataclass(frozen=True)
class TopicTemplate:
    template: str
    filter: str
    levels: tuple[str | None, ...]  # per level: literal text, "+" / "#", or None for a placeholder
    names: tuple[str | None, ...]  # per level: placeholder name or None
    multi: bool  # ends with '#'

    @classmethod
    def parse(cls, template: str) -> TopicTemplate:
        """Raise ``ValueError`` with a readable reason for templates MQTT or we cannot use."""
        if not template:
            raise ValueError("topic template is empty")
        if len(template.encode("utf-8")) > 65535:
            raise ValueError("topic template longer than MQTT allows")
        if "\x00" in template:
            raise ValueError("topic template contains a NUL character")
        parts = template.split("/")
        levels: list[str | None] = []
        names: list[str | None] = []
        filt: list[str] = []
        seen: set[str] = set()
        for i, part in enumerate(parts):
            m = _PLACEHOLDER.match(part)
            if m:
                name = m.group(1)
                if name not in PLACEHOLDERS:
                    raise ValueError(f"unknown placeholder {{{name}}}; expected {{site}}, {{device}} or {{channel}}")
                if name in seen:
                    raise ValueError(f"placeholder {{{name}}} used twice")
                seen.add(name)
                levels.append(None)
                names.append(name)
                filt.append("+")
                continue
            if "{" in part or "}" in part:
                raise ValueError(f"level {part!r}: a placeholder must fill a whole level, e.g. /{{device}}/")
            if part == "#" and i != len(parts) - 1:
                raise ValueError("'#' may only be the last level")
            if part not in ("+", "#") and ("+" in part or "#" in part):
                raise ValueError(f"level {part!r}: '+' and '#' must fill a whole level")
            levels.append(part)
            names.append(None)
            filt.append(part)
        return cls(template, "/".join(filt), tuple(levels), tuple(names), parts[-1] == "#")

    @property
    def placeholders(self) -> set[str]:
        return {n for n in self.names if n}

    def match(self, topic: str) -> dict[str, str] | None:
        """The bound placeholders if ``topic`` matches, else None (MQTT matching rules)."""
        parts = topic.split("/")
        n = len(self.levels) - 1 if self.multi else len(self.levels)
        if len(parts) < n or (not self.multi and len(parts) != n):
            return None
        if self.multi and n == 0 and topic.startswith("$"):
            return None  # '#' alone does not match $SYS topics
        bound: dict[str, str] = {}
        for i in range(n):
            lit, name, part = self.levels[i], self.names[i], parts[i]
            if i == 0 and part.startswith("$") and lit != part:
                return None  # wildcards do not match $-topics
            if name is not None:
                bound[name] = part
            elif lit != "+" and lit != part:
                return None
        return bound
