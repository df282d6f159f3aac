"""Pure scoring rules (SPEC §3): no I/O, no framework imports."""

from leadstream.scoring.event_score import event_lead_score, is_valid_click_id

__all__ = ["event_lead_score", "is_valid_click_id"]
