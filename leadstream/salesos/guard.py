"""Prompt-injection guard for the sales-OS edge (SPEC §5.2): pure, no I/O.

Every string gets a 0..100 risk score from the same kinds of evidence the reference uses:

* critical patterns (+100): instruction override, DAN, jailbreak, safety bypass, system-prompt
  exfiltration, plus one family the reference lacked: model control tokens (``<|im_start|>``,
  ``[INST]``, ``<<SYS>>``), which never occur in business data;
* high-risk patterns (+50 each, once per pattern; a pattern whose every match lies inside a match
  already counted adds nothing, like the reference's "already reported" rule);
* suspicious-token density (+30 when two or more listed words make up over 10 % of the words; a
  single listed word adds +10, so LOW means "one odd word");
* special-character density (+20 when two or more of ``< > [ ] { } | \\`` and the backtick make up
  over 5 % of the characters);
* encoded content (+40 when three or more escapes spell ASCII letters or digits: ``\\x69``,
  ``\\u0069``, ``&#105;``, ``&#x69;``, ``%69``; nobody escapes plain letters except to hide them);
* hidden instructions (+100): a pattern that only shows once the text is de-obfuscated (NFKC, invisible
  characters removed, Cyrillic/Greek look-alikes folded, entities and escapes decoded), or that sits
  inside a base64 or hex blob decoding to readable text.

The sum is capped at 100; 100 is CRITICAL and blocks the request, so two high-risk patterns in one
string block, as in the reference.

The reference's false positives are designed out (each has a test):

* bare ``<<`` / ``>>`` and backtick spans are no longer patterns (``Acme <<Holdings>>``); they only feed
  the special-character density, which alone is MEDIUM;
* HTML entities of punctuation or accented letters (``AT&#38;T``, ``Caf&#233;``) are not encoded
  content, and decoding them never counts as obfuscation;
* phrases that are ordinary business English only count in a form aimed at a model: ``act as a``
  (acts as a holding company), ``output only`` (500 units), ``no restrictions`` (on withdrawals),
  ``you are now`` (connected), ``from now on you`` (can reach me at), ``when I say``, ``in the next
  message``, ``system (`` (ERP system (SAP)), ``jailbreak`` (Jailbreak Brewing Company), ``DAN`` only
  in capitals (Dan is a first name), ``bypass safety`` not before checks/procedures/equipment...;
* the critical override needs "all/any/every", "your", or "above/system" with an instruction-like
  noun: "ignore the weekend" and "disregard my previous email" pass, "disregard my previous
  instructions" is high-risk (+50, not blocked alone), "ignore all previous instructions" blocks.

Bounds of ``scan_payload`` (all keyword-overridable): depth 32, 100 000 nodes, 10 000 strings, 20 000
characters in one string, 256 000 characters in all. A body beyond any bound is refused (``blocked``,
with the bound in ``reason``) rather than partially scanned, since the unscanned part is where an
attacker would put the payload.

Cost. Each pattern runs only on text holding the literal words every match of it contains (read from
the pattern itself; a linear ``in`` test), so business text skips almost all of them: about 0.2 µs a
character plus 10-20 µs a distinct short string, 50-120 ms of CPU for a 256 KiB body (text stuffed
with every trigger word costs about 1 µs a character). Every regex is linear in the text: bounded
repeats, no nested unbounded quantifiers. :func:`scan_steps` does the same work in slices of a few
milliseconds, so an event loop can serve other requests while a large body is scanned.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import re._constants as _c
import re._parser as _parser
import string
import unicodedata
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_STRINGS",
    "MAX_STRING_CHARS",
    "MAX_TOTAL_CHARS",
    "Finding",
    "RiskLevel",
    "ScanResult",
    "level_for",
    "sanitize_text",
    "scan_payload",
    "scan_steps",
    "scan_text",
]

MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_STRINGS = 10_000
MAX_STRING_CHARS = 20_000
MAX_TOTAL_CHARS = 256_000
# scan_steps' slices: a character of text is one unit of work, a string also costs about this many
# (casefolding, normalising and the heuristics of a short string take as long as ~100 characters of
# pattern matching); a slice is a few milliseconds.
UNITS_PER_STRING = 100
SLICE_UNITS = 8_000

CRITICAL_POINTS = 100
HIGH_POINTS = 50
TOKEN_DENSITY_POINTS = 30
SINGLE_TOKEN_POINTS = 10
SPECIAL_CHAR_POINTS = 20
ENCODED_CONTENT_POINTS = 40

MAX_ENCODED_BLOBS = 16  # base64/hex candidates decoded per string
MAX_DECODE_LAYERS = 2  # base64 inside base64 is still looked at, deeper is not


class RiskLevel(StrEnum):
    SAFE = "SAFE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


def level_for(score: int) -> RiskLevel:
    if score >= 100:
        return RiskLevel.CRITICAL
    if score >= 50:
        return RiskLevel.HIGH
    if score >= 20:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW if score > 0 else RiskLevel.SAFE


@dataclass(frozen=True, slots=True)
class Finding:
    """The risk of one string: score 0..100, level, and the names of what was found."""

    score: int
    level: RiskLevel
    patterns: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return self.level is RiskLevel.CRITICAL

    def as_dict(self) -> dict[str, Any]:
        return {"score": self.score, "level": str(self.level), "patterns": list(self.patterns)}


SAFE = Finding(0, RiskLevel.SAFE)


@dataclass(frozen=True, slots=True)
class ScanResult:
    """The worst string of a payload and whether the request must be refused.

    ``reason`` is ``None`` (nothing blocked), ``"injection"`` or the bound that was exceeded:
    ``"max_depth"``, ``"max_nodes"``, ``"max_strings"``, ``"max_string_chars"``, ``"max_total_chars"``.
    ``path`` is the JSON path of the worst string (``entity_data.signals[2].evidence``), ``"$"`` for a
    bare string body, ``None`` when every string is SAFE. When the worst string is a key, ``in_key``
    is true and ``path`` is the object holding it (the path never repeats a hostile key).
    """

    blocked: bool
    finding: Finding
    path: str | None = None
    in_key: bool = False
    reason: str | None = None
    strings_scanned: int = 0
    chars_scanned: int = 0

    @property
    def score(self) -> int:
        return self.finding.score

    @property
    def level(self) -> RiskLevel:
        return self.finding.level

    def as_dict(self) -> dict[str, Any]:
        return {
            "blocked": self.blocked,
            "reason": self.reason,
            "path": self.path,
            "in_key": self.in_key,
            **self.finding.as_dict(),
            "strings_scanned": self.strings_scanned,
            "chars_scanned": self.chars_scanned,
        }


# --- literal prefilter ------------------------------------------------------------------------------
# Python's regex engine tries every alternative of a pattern at every position, so running the patterns
# over long text costs about 1 us per character per pattern. Every match of a pattern contains certain
# literal text ("ignore" or "disregard" ..., and "instruction"), which ``str.__contains__`` finds in
# linear time. The conditions are read from the patterns' own parse trees (no list to keep in step), and
# only patterns whose condition holds are run: a pattern skipped could not have matched, so every verdict
# is the one running it would give.

_Need = bool | str | tuple[str, tuple["_Need", ...]]  # True: no condition; "lit": must occur; ("and"|"or", parts)


def _all_of(parts: list[_Need]) -> _Need:
    kept = [p for p in parts if p is not True]
    if any(p is False for p in kept):
        return False
    kept = list(dict.fromkeys(kept))
    # longest literal first: the rarest, so an absent one short-circuits soonest
    kept.sort(key=lambda p: -len(p) if isinstance(p, str) else 0)
    return True if not kept else kept[0] if len(kept) == 1 else ("and", tuple(kept))


def _any_of(parts: list[_Need]) -> _Need:
    if any(p is True for p in parts):
        return True
    kept = list(dict.fromkeys(p for p in parts if p is not False))
    return False if not kept else kept[0] if len(kept) == 1 else ("or", tuple(kept))


def _needs(items: Any) -> _Need:
    """What every match of the parsed sequence ``items`` contains; literals lower-cased (text is folded)."""
    parts: list[_Need] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            parts.append("".join(run).lower())
            run.clear()

    for op, arg in items:
        if op is _c.LITERAL:
            run.append(chr(arg))
            continue
        # literals just before a group or alternation are the start of each of its branches: the parser
        # factors "dan|do" into "d(?:an|o)", and "dan" is far rarer than "d"
        prefix = [(_c.LITERAL, ord(ch)) for ch in run]
        if op is _c.SUBPATTERN:
            run.clear()
            parts.append(_needs(prefix + list(arg[-1])))
            continue
        if op is _c.BRANCH:
            run.clear()
            parts.append(_any_of([_needs(prefix + list(branch)) for branch in arg[1]]))
            continue
        close_run()
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, _c.POSSESSIVE_REPEAT) and arg[0] >= 1:
            parts.append(_needs(arg[2]))
        elif op is _c.ATOMIC_GROUP:
            parts.append(_needs(arg))
        # anything else (classes, assertions, optional repeats) requires no particular literal
    close_run()
    return _all_of(parts)


def _expression(need: _Need) -> str:
    if isinstance(need, bool):
        return repr(need)
    if isinstance(need, str):
        return f"{need!r} in text"
    kind, parts = need
    return "(" + f" {kind} ".join(_expression(p) for p in parts) + ")"


def _checker(need: _Need) -> Callable[[str], bool]:
    """``need`` as one short-circuiting expression of ``in`` tests (a tree walk costs ten times as much).
    Its only inputs are ``repr()`` of literals taken from this module's own patterns."""
    return eval(f"lambda text: {_expression(need)}", {"__builtins__": {}})  # type: ignore[no-any-return]


# --- patterns -------------------------------------------------------------------------------------

# Patterns are matched against casefolded text, so they are written in lower case and compiled without
# IGNORECASE (about twice as fast). Only a ``cased`` pattern sees the original case.


@dataclass(frozen=True, slots=True)
class _Pattern:
    name: str
    points: int
    regex: re.Pattern[str]
    cased: bool = False
    may_match: Callable[[str], bool] = bool  # False: the literal text every match contains is absent

    def search_in(self, text: str, folded: str) -> re.Match[str] | None:
        return self.regex.search(text if self.cased else folded)

    def spans_in(self, text: str, folded: str) -> list[tuple[int, int]]:
        return [m.span() for m in self.regex.finditer(text if self.cased else folded)]


def _compiled(name: str, points: int, pattern: str, cased: bool = False) -> _Pattern:
    may_match = _checker(_needs(_parser.parse(pattern, re.MULTILINE).data))
    return _Pattern(name, points, re.compile(pattern, re.MULTILINE), cased, may_match)


def _critical(name: str, pattern: str, *, cased: bool = False) -> _Pattern:
    return _compiled(name, CRITICAL_POINTS, pattern, cased)


def _high(name: str, pattern: str) -> _Pattern:
    return _compiled(name, HIGH_POINTS, pattern)


_OVERRIDE_VERB = r"(?:ignore|disregard|forget|discard)"  # "override" only with "your": a new rule overrides prior ones
_INSTRUCTION_NOUN = r"(?:instructions?|prompts?|rules|directives?|guidelines|programming|guardrails|constraints)"
_EARLIER = r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|developer)"
_AI_NOUN = r"(?:ai|assistant|bot|chatbot|model|llm|gpt|chatgpt|persona|character|entity)"
_FREE_ADJ = r"(?:jailbroken|unrestricted|unfiltered|uncensored|unchained|unshackled|unbound|liberated|unaligned)"
_YOU_ARE = r"you(?:\s+are|'re)"
MODEL_CONTROL_TOKENS = (
    r"<\|\s*(?:im_start|im_end|im_sep|endoftext|system|user|assistant|begin_of_text|end_of_text|"
    r"start_header_id|end_header_id|eot_id|fim_\w+)\s*\|>"
    r"|\[/?inst\]|<</?sys>>|<(?:start|end)_of_turn>"
)

CRITICAL_PATTERNS: tuple[_Pattern, ...] = (
    _critical(
        "instruction_override",
        # "all/any/every ... previous instructions", "the above/system instructions", "your instructions":
        # the forms aimed at a model. "Disregard my previous instructions" is only high-risk (below).
        rf"\b{_OVERRIDE_VERB}\s+(?:all|any|every)\s+(?:of\s+)?(?:(?:the|these|those|your|my)\s+)?"
        rf"(?:{_EARLIER}\s+){{1,2}}{_INSTRUCTION_NOUN}\b"
        rf"|\b{_OVERRIDE_VERB}\s+(?:(?:the|these|those|your)\s+)?(?:{_EARLIER}\s+)?"
        rf"(?:above|preceding|foregoing|system|developer)\s+(?:{_EARLIER}\s+)?{_INSTRUCTION_NOUN}\b"
        r"|\b(?:ignore|disregard|forget|discard|override)\s+(?:all\s+(?:of\s+)?)?your\s+(?:[\w-]+\s+)?"
        r"(?:instructions?|prompts?|rules|directives|guidelines|programming|training|constraints)\b"
        r"|\b(?:ignore|disregard)\s+(?:everything|all|anything)\s+"
        r"(?:above|before\s+this|(?:previously\s+)?(?:said|written|stated)\s+(?:above|before)|so\s+far)\b",
    ),
    _critical(
        "dan_mode",
        # "DAN" only in capitals as a name: "Dan" is a common first name.
        r"\bDAN\s+(?i:mode)\b|(?i:\b(?:enable|activate|enter|in|into|switch\s+to)\s+dan\s+mode\b)"
        r"|(?i:\bdan\s+mode\s+(?:enabled|activated|on)\b|\bdo\s+anything\s+now\b)"
        r"|(?i:\byou\s+are|\byou're|\bas|\bbecome|\bpretend\s+to\s+be)\s+(?i:now\s+)?(?i:an?\s+)?DAN\b"
        r"|\bDAN\s*(?:\d+(?:\.\d+)?\s*)?(?i:jailbreak|prompt)\b",
        cased=True,
    ),
    _critical(
        "jailbreak",
        rf"\bjailbr(?:eak|oken)\s+(?:mode|prompt|enabled|activated|yourself|the\s+{_AI_NOUN})\b"
        r"|\b(?:enable|activate|enter|initiate|start|switch\s+to|turn\s+on)\s+(?:the\s+)?jailbr(?:eak|oken)\b"
        rf"|\b{_YOU_ARE}\s+(?:now\s+)?(?:an?\s+)?{_FREE_ADJ}\b"
        rf"|\b{_YOU_ARE}\s+now\s+in\s+(?:developer|god|sudo|jailbreak|dan|unrestricted|unfiltered)\s+mode\b"
        r"|\bthis\s+is\s+a\s+jailbreak\b",
    ),
    _critical(
        "safety_bypass",
        # Aimed at a model's safeguards; "bypass the safety checks" on a building site is not.
        r"\b(?:bypass|circumvent|disable|evade|override|deactivate|get\s+around|turn\s+off|switch\s+off|ignore)\s+"
        r"(?:(?:all|any|the|its|these|those)\s+)?"
        r"(?:your\s+(?:[\w-]+\s+)?(?:safety|filters?|restrictions|guidelines|guardrails|safeguards|polic(?:y|ies)|"
        r"programming|alignment|censorship|moderation)"
        r"|(?:(?:content|ai|openai|ethical|ethics|moderation)\s+)+(?:filters?|filtering|restrictions|guidelines|"
        r"polic(?:y|ies)|rules|checks|moderation)"
        r"|(?:ai\s+|safety\s+)?(?:guardrails?|censorship|alignment)|safety\s+filters?)\b",
    ),
    _critical(
        "system_prompt_exfiltration",
        r"\b(?:reveal|show|print|display|output|repeat|leak|dump|expose|disclose|share|tell|give|send|"
        r"write\s+out|copy|recite)\s+(?:me\s+|us\s+)?"
        r"(?:(?:your|the|its|all|of|full|entire|complete|exact|whole|verbatim)\s+){1,4}"
        r"(?:system\s+(?:prompt|message|instructions?)|(?:initial|original|hidden|secret|developer)\s+prompt"
        r"|(?:hidden|secret)\s+instructions)\b"
        r"|\bwhat(?:\s+(?:is|was|are|were)|'s)\s+(?:your|the)\s+"
        r"(?:system\s+prompt|(?:initial|original|hidden|secret)\s+(?:prompt|instructions))\b",
    ),
    _critical("model_control_token", MODEL_CONTROL_TOKENS),
)

HIGH_PATTERNS: tuple[_Pattern, ...] = (
    _high(
        "instruction_override_soft",
        r"\b(?:ignore|disregard|forget|override|discard)\s+(?:(?:the|my|these|those|our)\s+)?"
        r"(?:previous|prior|earlier|original|initial|old)\s+(?:instructions?|prompts?|directives?)\b",
    ),
    _high(
        "safety_bypass_soft",
        r"\b(?:bypass|circumvent|disable|evade)\s+(?:the\s+)?safety\b(?!\s+(?:checks?|inspections?|procedures?|"
        r"regulations?|valves?|standards?|requirements?|protocols?|measures?|equipment|training|rules|systems?|"
        r"features?|devices?|codes?|audits?))",
    ),
    _high(
        "forget_everything",
        r"\bforget\s+(?:everything|all)\s+(?:you\s+(?:know|were\s+told|have\s+been\s+told|learned)|above"
        r"|before\s+this)\b",
    ),
    _high(
        "instruction_query",
        r"\bwhat\s+(?:are|were|is|was)\s+your\s+(?:(?:system|initial|original|hidden|secret|exact|current)\s+)?"
        r"(?:instructions|prompt|rules|directives|programming)\b",
    ),
    _high(
        "prompt_disclosure",
        r"\b(?:reveal|show|print|display|output|repeat|dump|leak|expose|disclose)\s+(?:me\s+|us\s+)?"
        r"(?:all\s+)?(?:of\s+)?your\s+(?:(?:full|entire|complete|exact|original|initial|current)\s+)?"
        r"(?:prompt|instructions|rules|directives|programming|configuration)\b"
        r"|\b(?:repeat|print|output|echo)\s+(?:back\s+)?(?:everything|all\s+(?:of\s+)?the\s+(?:text|words|content)"
        r"|the\s+(?:text|words|content))\s+(?:above|before\s+this)\b",
    ),
    _high(
        "role_reassignment",
        rf"\b{_YOU_ARE}\s+now\s+(?:a|an|the|my)\s+(?:[\w-]+\s+){{0,2}}?{_AI_NOUN}\b"
        rf"|\b{_YOU_ARE}\s+now\s+in\s+(?:[\w-]+\s+)?mode\b"
        rf"|\b{_YOU_ARE}\s+(?:now\s+)?(?:free|freed|released|unbound)\s+from\b"
        rf"|\b{_YOU_ARE}\s+no\s+longer\s+(?:an?\s+)?(?:ai|assistant|bound|restricted|limited|required)\b",
    ),
    _high(
        "from_now_on",
        r"\bfrom\s+now\s+on,?\s+(?:you\s+(?:(?:will|must|shall|should)\s+(?:only\s+|always\s+|never\s+)?"
        r"(?:act|respond|answer|reply|ignore|obey|pretend|behave|speak\s+as)"
        r"|are\s+(?:called|named|known\s+as|no\s+longer))|your\s+(?:new\s+)?(?:name|role|persona|instructions)\s+is)\b",
    ),
    _high("pretend", r"\bpretend\s+(?:to\s+be|(?:that\s+)?you(?:\s+are|'re|\s+have\s+no))\b"),
    _high(
        "act_as",
        r"\bact\s+as\s+(?:if\s+you\s+(?:are|were|have)|though\s+you"
        r"|(?:an?\s+)?(?:unrestricted|unfiltered|uncensored|evil|rogue|jailbroken)\b"
        r"|(?:an?\s+)?(?:ai|chatbot|language\s+model|llm|gpt)\b"
        r"|my\s+(?:deceased\s+|late\s+|dead\s+)?(?:grandma|grandmother|grandfather))",
    ),
    _high(
        "role_play",
        r"\brole[\s-]?play\s+(?:as|that\s+you)\b|\blet'?s\s+(?:play\s+a\s+game|role[\s-]?play)\b"
        r"|\b(?:stay\s+in|break)\s+character\b"
        r"|\bmy\s+(?:deceased|late|dead)\s+(?:grandma|grandmother|grandfather)\s+(?:who\s+)?used\s+to\b",
    ),
    _high(
        "new_persona",
        r"\b(?:adopt|assume|take\s+on|switch\s+to|enter)\s+(?:a\s+|the\s+|your\s+)?(?:new\s+|different\s+|alternate\s+)?"
        r"(?:persona|personality|alter\s+ego)\b|\byour\s+new\s+(?:persona|personality|identity|name)\s+is\b",
    ),
    _high("privileged_mode", r"\b(?:developer|god|sudo|unrestricted|unfiltered|uncensored|evil|opposite)\s+mode\b"),
    _high(
        "no_restrictions",
        r"\b(?:unrestricted|unfiltered|uncensored|unaligned)\s+(?:ai|assistant|chatbot|model|llm|gpt|version|"
        r"responses?|output|answers?)\b"
        r"|\b(?:without|with\s+no|free\s+(?:of|from)|have\s+no|has\s+no)\s+(?:any\s+)?(?:ethical|moral|content|safety)\s+"
        r"(?:guidelines|restrictions|constraints|limits|limitations|filters|boundaries)\b"
        r"|\b(?:ai|assistant|chatbot|llm)\s+(?:with|without|(?:that|who)\s+(?:has|have))\s+(?:no\s+|any\s+)?"
        r"(?:rules|restrictions|limits|limitations|filters|guidelines|boundaries|censorship)\b"
        r"|\byou\s+(?:have|has)\s+no\s+(?:rules|restrictions|limits|limitations|filters|guidelines|boundaries)\b"
        r"|\b(?:evil|rogue|malicious|unhinged)\s+(?:ai|assistant|chatbot|bot|model|llm)\b",
    ),
    _high(
        "output_control",
        r"\b(?:respond|reply|answer)\s+(?:only\s+with|with\s+only|using\s+only)\b"
        r"|\b(?:say|output|print|return|write)\s+only\s+(?:the\s+)?(?:word|words|phrase|following|[\"'])",
    ),
    _high(
        "role_label",
        # [^\S\n]: whitespace within the line. "^\s*" let each of n line starts run over the n newlines
        # after it, n^2 steps (12 s for 19,000 newlines); a label after blank lines starts its own line anyway.
        r"^[^\S\n]*(?:#{2,}\s*(?:system|instructions?|assistant|response)\b|(?:system|developer)\s+(?:prompt|message)\s*:"
        r"|\[(?:system|assistant|admin)\]|```\s*(?:system|instructions?)\b)",
    ),
    _high(
        "template_injection",
        r"\{\{[^{}]{0,60}?\b(?:system|prompt|instructions?|config|secrets?|env|settings)\b[^{}]{0,60}\}\}"
        r"|\{%-?\s*(?:import|include|exec|set)\b",
    ),
    _high(
        "code_execution",
        r"\b(?:exec|eval|popen|passthru|shell_exec|__import__)\(|\bsystem\(\s*[\"'`$]"
        r"|\bos\.(?:system|popen|exec\w*)\b|\bsubprocess\.\w+|\brm\s+-rf\s+/|\$\(\s*(?:curl|wget|bash|sh|rm|cat)\b",
    ),
    _high(
        "trigger_conditioning",
        r"\bwhen\s+i\s+say\b.{0,60}?\byou\s+(?:(?:will|must|should|shall)\s+)?"
        r"(?:respond|reply|answer|say|output|ignore|switch|become)\b"
        r"|\bin\s+(?:the|my)\s+next\s+message,?\s+(?:you\s+(?:will|must|should|shall)"
        r"|i\s+will\s+give\s+you\s+(?:new\s+)?instructions)\b"
        r"|\b(?:respond|reply|answer)\s+to\s+(?:the\s+following|this|everything)\s+as\s+(?:if|though)\b",
    ),
    _high(
        "injected_instructions",
        r"\b(?:new|updated|revised|real|actual|secret|hidden|additional)\s+(?:system\s+)?instructions?\s*:"
        r"|\b(?:system|admin|developer)\s+override\b|\bend\s+of\s+(?:system\s+)?(?:prompt|instructions)\b"
        r"|\bignore\s+(?:the|this|that)\s+above\b",
    ),
    _high(
        "ai_addressed",
        r"\bnote\s+to\s+(?:the\s+)?(?:ai|model|llm|language\s+model|chatbot)\b"
        r"|\b(?:attention|important|instructions?)\s+(?:for|to)\s+(?:the\s+)?(?:ai|model|llm|chatbot|assistant)\s*[:,-]"
        r"|\bdear\s+(?:ai|chatgpt|gpt|claude|llm|chatbot)\b"
        r"|\b(?:chatgpt|gpt|llm|chatbot|ai),\s+(?:please\s+)?(?:ignore|disregard|forget|reveal|print|output|obey)\b",
    ),
    _high(
        "fictional_framing",
        r"\b(?:hypothetical|fictional|imaginary|alternate)\s+(?:scenario|world|universe|story|reality)\s+"
        r"(?:where|in\s+which)\s+(?:you|there\s+are\s+no|ai|rules|nothing)\b",
    ),
    _high(
        "decode_and_follow",
        r"\b(?:decode|decrypt|deobfuscate)\s+(?:this|the\s+following|it)\b.{0,40}?"
        r"\b(?:follow|execute|run|obey|do\s+what\s+it\s+says)\b",
    ),
)

ALL_PATTERNS = CRITICAL_PATTERNS + HIGH_PATTERNS

SUSPICIOUS_TOKENS = frozenset(
    {
        "ignore", "disregard", "forget", "override", "system", "prompt", "instruction", "instructions", "role",
        "pretend", "roleplay", "persona", "character", "jailbreak", "bypass", "unrestricted", "unlimited",
        "developer", "admin", "root", "sudo", "reveal", "print", "show", "output", "dump", "exec", "eval",
        "shell", "command",
    }
)  # fmt: skip
SPECIAL_CHARS = frozenset("<>[]{}|\\`")

# \xHH, \uHHHH, &#NN;, &#xHH;, %HH
_ESCAPE = re.compile(
    r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})|&#(\d{1,7});|&#[xX]([0-9a-fA-F]{1,6});|%([0-9a-fA-F]{2})"
)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_BACKSLASH_ESCAPE = re.compile(r"\\x([0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})")
_PERCENT_ESCAPE = re.compile(r"%([0-9a-fA-F]{2})")
_BLOB = re.compile(r"[A-Za-z0-9+/_-]{20,}={0,2}")
_HEX_BLOB = re.compile(r"^(?:[0-9a-fA-F]{2})+$")
_ASCII_ALNUM = frozenset(string.ascii_letters + string.digits)

# Letters that look Latin but are not (Cyrillic, Greek), and typographic quotes.
_LOOKALIKES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
        "ԁ": "d", "һ": "h", "ӏ": "l", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O",
        "Р": "P", "С": "C", "Т": "T", "Х": "X", "І": "I", "α": "a", "ο": "o", "ρ": "p", "ε": "e", "ι": "i",
        "Ο": "O", "Α": "A", "Ι": "I", "\u2018": "'", "\u2019": "'", "\u02bc": "'",
    }
)  # fmt: skip


# Unicode "format" characters (category Cf): zero-width, bidi controls, soft hyphen, tag characters.
_INVISIBLE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'"})  # typographic, not obfuscation


# --- de-obfuscation --------------------------------------------------------------------------------


def _escaped_char(match: re.Match[str]) -> str:
    """The character an escape match stands for (every escape regex captures only its digits)."""
    digits = next(group for group in match.groups() if group is not None)
    decimal = match.group().startswith("&#") and match.group()[2:3] not in ("x", "X")
    try:
        return chr(int(digits, 10 if decimal else 16))
    except (ValueError, OverflowError):
        return ""


def _letter_escapes(text: str) -> int:
    """How many escapes in ``text`` spell an ASCII letter or digit."""
    return sum(1 for m in _ESCAPE.finditer(text) if _escaped_char(m) in _ASCII_ALNUM)


def _benign_unescape(text: str) -> str:
    """Decode the HTML entities people use innocently (``&amp;``, ``&#39;``, ``&eacute;``) but not
    entities that spell ASCII letters or digits, which only serve to hide words."""

    def decode(match: re.Match[str]) -> str:
        decoded = html.unescape(match.group())
        return match.group() if decoded in _ASCII_ALNUM else decoded

    return _ENTITY.sub(decode, text)


def _reveal(text: str) -> str:
    """The text as a model would read it: compatibility forms folded, invisible characters removed,
    look-alike letters mapped to Latin, HTML entities and backslash/percent escapes decoded."""
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = text.translate(_LOOKALIKES)
    text = html.unescape(html.unescape(text))  # twice: "&amp;#105;" is a common double encoding
    text = _BACKSLASH_ESCAPE.sub(_escaped_char, text)
    return _PERCENT_ESCAPE.sub(_escaped_char, text)


def _readable(raw: bytes) -> str | None:
    """Decoded bytes as text when they look like words a model could follow, else None."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if len(text) < 8:
        return None
    return text if re.sub(r"[\t\n\r]", " ", text).isprintable() else None


def _decode_blob(blob: str) -> str | None:
    if _HEX_BLOB.match(blob):
        hex_text = _readable(binascii.unhexlify(blob))
        if hex_text:
            return hex_text
    body = blob.rstrip("=")
    altchars = b"-_" if ("-" in body or "_" in body) else b"+/"
    try:
        raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _readable(raw)


def _decoded_blobs(text: str) -> Iterator[str]:
    """Readable text hidden in base64 (standard or URL-safe) or hex runs; at most MAX_ENCODED_BLOBS."""
    for count, match in enumerate(_BLOB.finditer(text)):
        if count >= MAX_ENCODED_BLOBS:
            return
        decoded = _decode_blob(match.group())
        if decoded:
            yield decoded


# --- scoring ---------------------------------------------------------------------------------------


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in spans)


def _pattern_hits(text: str) -> list[tuple[_Pattern, list[tuple[int, int]]]]:
    """Patterns found in ``text``, critical first; a high pattern entirely inside counted matches is
    dropped (the reference's "already reported" rule)."""
    folded = text.casefold()
    candidates = [p for p in ALL_PATTERNS if p.may_match(folded)]  # the others could not match
    counted: list[tuple[int, int]] = []
    hits = []
    for pattern in candidates:
        spans = pattern.spans_in(text, folded)
        if not spans or (pattern.points < CRITICAL_POINTS and all(_inside(s, counted) for s in spans)):
            continue
        hits.append((pattern, spans))
        counted.extend(spans)
    return hits


def _hidden_instructions(text: str, layer: int = 1) -> list[str]:
    """Names of patterns found inside decoded base64/hex blobs (recursively, up to MAX_DECODE_LAYERS)."""
    names: list[str] = []
    for decoded in _decoded_blobs(text):
        revealed = _reveal(decoded)
        names += [p.name for p, _ in _pattern_hits(revealed)]
        if layer < MAX_DECODE_LAYERS:
            names += _hidden_instructions(revealed, layer + 1)
    return names


def _suspicious_tokens(text: str) -> tuple[int, int]:
    """(listed words, all words); surrounding punctuation is ignored ("ignore," counts)."""
    words = [w.strip(string.punctuation) for w in text.casefold().split()]
    words = [w for w in words if w]
    return sum(1 for w in words if w in SUSPICIOUS_TOKENS), len(words)


def _special_chars(text: str) -> int:
    return sum(text.count(ch) for ch in SPECIAL_CHARS)


def _heuristics(raw: str, revealed: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    hits, words = _suspicious_tokens(revealed)
    if hits >= 2 and hits * 10 > words:
        found.append(("suspicious_token_density", TOKEN_DENSITY_POINTS))
    elif hits:
        found.append(("suspicious_token", SINGLE_TOKEN_POINTS))
    specials = _special_chars(raw)
    if specials >= 2 and specials * 20 > len(raw):
        found.append(("special_char_density", SPECIAL_CHAR_POINTS))
    if _letter_escapes(raw) >= 3:
        found.append(("encoded_content", ENCODED_CONTENT_POINTS))
    return found


def _finding(points: list[tuple[str, int]]) -> Finding:
    if not points:
        return SAFE
    score = min(100, sum(p for _, p in points))
    names = tuple(dict.fromkeys(name for name, _ in points))
    return Finding(score, level_for(score), names)


def scan_text(text: str) -> Finding:
    """Risk of one string. Text longer than MAX_STRING_CHARS is refused as CRITICAL ``oversized_text``
    (it is never legitimate in a request, and scanning a prefix would let the rest through)."""
    if not isinstance(text, str):
        raise TypeError(f"scan_text expects str, not {type(text).__name__}")
    if len(text) > MAX_STRING_CHARS:
        return Finding(100, RiskLevel.CRITICAL, ("oversized_text",))
    if len(text) <= CACHED_TEXT_CHARS:
        return _scan_short(text)
    return _scan(text)


CACHED_TEXT_CHARS = 256  # keys and short values (names, industries) repeat across a body


@lru_cache(maxsize=4096)
def _scan_short(text: str) -> Finding:
    return _scan(text)


def _scan(text: str) -> Finding:
    if not text.strip():
        return SAFE
    revealed = _reveal(text)
    visible = _benign_unescape(text).translate(_QUOTES)
    visible_folded = visible.casefold()
    points: list[tuple[str, int]] = []
    for pattern, _ in _pattern_hits(revealed):
        points.append((pattern.name, pattern.points))
        if not pattern.search_in(visible, visible_folded):
            points.append(("obfuscated_instructions", CRITICAL_POINTS))
    hidden = _hidden_instructions(revealed)
    if hidden:
        points += [("encoded_instructions", CRITICAL_POINTS)] + [(name, 0) for name in hidden]
    points += _heuristics(text, revealed)
    return _finding(points)


# --- payload walk ----------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _child_path(parent: str, key: object) -> str:
    if isinstance(key, int):
        return f"{'' if parent == '$' else parent}[{key}]"
    name = str(key)
    if _IDENTIFIER.match(name):
        return name if parent == "$" else f"{parent}.{name}"
    shown = name if len(name) <= 40 else name[:40] + "…"
    quoted = shown.replace("\\", "\\\\").replace('"', '\\"')
    return f'{"$" if parent == "$" else parent}["{quoted}"]'


@dataclass(slots=True)
class _Walk:
    """Counters and the worst string so far of one ``scan_payload`` call."""

    max_strings: int
    max_string_chars: int
    max_total_chars: int
    max_nodes: int
    nodes: int = 0
    strings: int = 0
    chars: int = 0
    worst: Finding = SAFE
    worst_path: str | None = None
    worst_in_key: bool = False

    def refuse(self, reason: str, path: str) -> ScanResult:
        limit = Finding(100, RiskLevel.CRITICAL, (f"limit:{reason}",))
        return ScanResult(True, limit, path, False, reason, self.strings, self.chars)

    def result(self) -> ScanResult:
        blocked = self.worst.blocked
        reason = "injection" if blocked else None
        return ScanResult(blocked, self.worst, self.worst_path, self.worst_in_key, reason, self.strings, self.chars)

    def text_over_budget(self, text: str) -> str | None:
        if self.strings >= self.max_strings:
            return "max_strings"
        if len(text) > self.max_string_chars:
            return "max_string_chars"
        if self.chars + len(text) > self.max_total_chars:
            return "max_total_chars"
        return None

    def scan(self, text: str, path: str, in_key: bool) -> None:
        self.strings += 1
        self.chars += len(text)
        finding = scan_text(text)
        if finding.score > self.worst.score:
            self.worst, self.worst_path, self.worst_in_key = finding, path, in_key


def scan_payload(
    obj: Any,
    *,
    max_depth: int = MAX_DEPTH,
    max_strings: int = MAX_STRINGS,
    max_string_chars: int = MAX_STRING_CHARS,
    max_total_chars: int = MAX_TOTAL_CHARS,
    max_nodes: int = MAX_NODES,
) -> ScanResult:
    """Scan every string of a JSON-like body (dict keys and values, lists, nested to any depth).

    Document order, depth first; stops at the first CRITICAL string. Numbers, booleans and None are
    not text and are skipped (they still count as nodes). Beyond any bound the body is refused:
    ``blocked`` with ``reason`` naming the bound and ``path`` where it was crossed.
    """
    steps = scan_steps(
        obj,
        max_depth=max_depth,
        max_strings=max_strings,
        max_string_chars=max_string_chars,
        max_total_chars=max_total_chars,
        max_nodes=max_nodes,
    )
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def scan_steps(
    obj: Any,
    *,
    slice_units: int = SLICE_UNITS,
    max_depth: int = MAX_DEPTH,
    max_strings: int = MAX_STRINGS,
    max_string_chars: int = MAX_STRING_CHARS,
    max_total_chars: int = MAX_TOTAL_CHARS,
    max_nodes: int = MAX_NODES,
) -> Generator[None, None, ScanResult]:
    """:func:`scan_payload` in slices: the generator yields after about ``slice_units`` of work (a
    character is one unit, a string :data:`UNITS_PER_STRING` more) and returns the same result. A
    caller on an event loop lets other requests run between slices, so a large body holds the loop
    for a slice at a time (a few milliseconds) rather than for its whole scan."""
    max_string_chars = min(max_string_chars, MAX_STRING_CHARS)  # scan_text refuses longer text anyway
    walk = _Walk(max_strings, max_string_chars, max_total_chars, max_nodes)
    stack: list[tuple[Any, str, int, bool]] = [(obj, "$", 0, False)]
    done_units = 0
    while stack:
        node, path, depth, in_key = stack.pop()
        walk.nodes += 1
        if isinstance(node, str):
            over = walk.text_over_budget(node)
            if over:
                return walk.refuse(over, path)
            walk.scan(node, path, in_key)
            if walk.worst.blocked:
                return walk.result()
            done_units += len(node) + UNITS_PER_STRING
            if done_units >= slice_units:
                done_units = 0
                yield
        elif isinstance(node, Mapping | list | tuple):
            if depth >= max_depth:
                return walk.refuse("max_depth", path)
            # keys and values of a mapping are two nodes each; refuse before materialising them
            children = len(node) * (2 if isinstance(node, Mapping) else 1)
            if walk.nodes + len(stack) + children > max_nodes:
                return walk.refuse("max_nodes", path)
            stack.extend(reversed(list(_children(node, path, depth + 1))))
    return walk.result()


def _children(node: Mapping | list | tuple, path: str, depth: int) -> Iterator[tuple[Any, str, int, bool]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if isinstance(key, str):
                yield key, path, depth, True  # a key's path is the object's: the key may be the payload
            yield value, _child_path(path, key), depth, False
    else:
        for index, value in enumerate(node):
            yield value, _child_path(path, index), depth, False


# --- sanitising for AI providers -------------------------------------------------------------------

_CONTROL_CHARS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069\U000e0000-\U000e007f]"
)
_CONTROL_TOKENS = re.compile(MODEL_CONTROL_TOKENS, re.IGNORECASE)
_HTML_NAMES = (
    "a|abbr|b|blockquote|body|br|button|code|div|em|embed|font|footer|form|h[1-6]|head|header|hr|html|i|iframe|img|"
    "input|label|li|link|meta|nav|object|ol|option|p|pre|s|section|select|small|span|strong|style|sub|sup|svg|"
    "table|tbody|td|textarea|th|thead|title|tr|u|ul|script|noscript|article|aside|main|frame|base"
)
_HTML_BLOCKS = re.compile(r"<(script|style)\b[^>]{0,500}>.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
# a known tag name, and attributes only if there is an "=": "<Head Office>" is text, "<a href=x>" a tag
_HTML_TAG = re.compile(rf"</?(?:{_HTML_NAMES})(?:\s[^<>]{{0,500}}?=[^<>]{{0,500}})?\s*/?>", re.IGNORECASE)
_DELIMITER_RUNS = (
    (re.compile(r"\{(?=\{)"), "{ "),
    (re.compile(r"\}(?=\})"), "} "),
    (re.compile(r"\[(?=\[)"), "[ "),
    (re.compile(r"\](?=\])"), "] "),
    (re.compile(r"<(?=<<)|(?<=<)<(?=<)"), "< "),
    (re.compile(r">(?=>>)|(?<=>)>(?=>)"), "> "),
)


def _break_delimiters(text: str) -> str:
    """Space out the runs that delimit prompt sections: ``{{``, ``]]``, ``<<<``, code fences.

    Double angle brackets stay (``Acme <<Holdings>>`` is a name); three or more are broken up."""
    text = text.replace("```", "'''")
    for regex, replacement in _DELIMITER_RUNS:
        text = regex.sub(replacement, text)
    return text


def _normalise_whitespace(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\f\v\u00a0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def sanitize_text(text: str, *, max_length: int = 2000) -> str:
    """Text made safe to embed (as data) in a prompt for an AI provider.

    Removes control and invisible characters (including bidi overrides and Unicode tag characters),
    model control tokens, HTML comments, script/style blocks and HTML tags (only real tag names, so
    ``<<Holdings>>`` survives); breaks up prompt delimiters; collapses runs of spaces and tabs, keeps at
    most one blank line; truncates to
    ``max_length`` characters, ending in ``...`` when cut. Injection phrases are not rewritten: the
    guard blocks them before this runs, and the prompt wraps this text as data.
    """
    if not isinstance(text, str):
        raise TypeError(f"sanitize_text expects str, not {type(text).__name__}")
    max_length = max(3, max_length)
    text = text[: max_length * 4]  # bound the work; the final cut happens below
    text = _CONTROL_CHARS.sub("", text)
    text = _CONTROL_TOKENS.sub(" ", text)
    text = text.replace("<|", "< |").replace("|>", "| >")  # a token rebuilt from the pieces around a removed one
    text = _HTML_COMMENT.sub(" ", _HTML_BLOCKS.sub(" ", text))
    text = _HTML_TAG.sub(" ", text)
    text = _normalise_whitespace(_break_delimiters(text))
    if len(text) > max_length:
        text = text[: max_length - 3].rstrip() + "..."
    return text
