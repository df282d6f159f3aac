"""What the operator commands do (dead letters, loading sales-OS data); process settings for edge and worker."""
