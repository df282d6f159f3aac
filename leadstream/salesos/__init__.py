"""Pure sales-OS domain logic other than scores, which live in leadstream/scoring/os_*.py."""
