"""The one error a bad Stats API query raises."""


class StatsQueryError(ValueError):
    """An invalid query; the message names the field (``#/metrics/0: ...``), as Plausible's do,
    and is the answer's ``error`` (400)."""
